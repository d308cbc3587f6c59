"""The operator API for reserved domains: keep a domain for one tenant or for the platform. Staff only."""

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.tenants.claims import domain_release, domain_reserve, host_release
from apps.tenants.models import DomainReservation, HostClaim
from apps.tenants.principals import as_principal
from apps.tenants.selectors import domain_reservations_of_the_platform, host_claims_of_every_tenant, tenant_choices

from .views import OperatorViewSet


class DomainReservationSerializer(serializers.ModelSerializer):
    domain = serializers.CharField(max_length=253, help_text="Hosts equal to or under it, e.g. acme.example.com.")
    tenant = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=tenant_choices(),
        allow_null=True,
        required=False,
        help_text="The only tenant that may route hosts under the domain; empty keeps it for the platform.",
    )

    class Meta:
        model = DomainReservation
        fields = ["id", "domain", "tenant", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class OperatorDomainViewSet(
    OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin
):
    """Reserved domains. POST reserves (409 `domain_taken` when another tenant already routes a host
    under it), DELETE gives it back; hosts already claimed stay with their tenants. Each write is audited."""

    serializer_class = DomainReservationSerializer
    queryset = domain_reservations_of_the_platform()

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        reservation = domain_reserve(operator=as_principal(request), **data.validated_data)
        return Response(self.get_serializer(reservation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        domain_release(operator=as_principal(self.request), reservation=instance)


class HostClaimSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = HostClaim
        fields = ["id", "host", "tenant", "created_at"]
        read_only_fields = fields


class OperatorHostClaimViewSet(
    OperatorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin
):
    """Every claimed ingress host and its tenant. DELETE takes a host back (a squatted or abandoned
    name) so another tenant may claim it; audited."""

    serializer_class = HostClaimSerializer
    queryset = host_claims_of_every_tenant()

    def perform_destroy(self, instance):
        host_release(operator=as_principal(self.request), claim=instance)
