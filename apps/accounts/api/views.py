from allauth.mfa.utils import is_mfa_enabled
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import MeSerializer


class MeView(APIView):
    """The signed-in caller: who the API thinks you are."""

    @extend_schema(responses=MeSerializer, summary="Who am I")
    def get(self, request):
        user = request.user
        user.mfa_enabled = is_mfa_enabled(user)
        return Response(MeSerializer(user).data)
