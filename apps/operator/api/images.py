"""The operator API for the image allow-list: which registries, paths and repositories releases may
name images from. Staff only."""

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.catalog.images import image_rule_add, image_rule_remove
from apps.catalog.models import ImageRule
from apps.catalog.selectors import image_rules
from apps.tenants.principals import as_principal

from .views import OperatorViewSet


class ImageRuleSerializer(serializers.ModelSerializer):
    pattern = serializers.CharField(
        max_length=300,
        help_text="A registry (ghcr.io), a path and everything under it (ghcr.io/acme/*) or one repository "
        "(docker.io/library/nginx); stored in full and lower case.",
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = ImageRule
        fields = ["id", "pattern", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class OperatorImageRuleViewSet(
    OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin
):
    """The operators' image allow-list. Once it has an entry (here or in the IMAGE_ALLOWLIST setting,
    whose entries count besides these), a release's image must match one or the platform registry;
    the refusal (400 `image_not_allowed`) names the entries. POST adds an entry (409 `image_rule_taken`
    when it is there already), DELETE removes one; releases already cut stay as they are. Audited."""

    serializer_class = ImageRuleSerializer
    queryset = image_rules()

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = image_rule_add(operator=as_principal(request), **data.validated_data)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        image_rule_remove(operator=as_principal(self.request), rule=instance)
