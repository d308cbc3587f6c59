"""REST API for add-ons: the marketplace (offerings and plans), instances and bindings. Writes call services."""

from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.catalog.models import Application
from apps.core.errors import missing_scope
from apps.core.policies import policy_for
from apps.tenants.api.base import TenantViewSetMixin
from apps.tenants.principals import as_principal

from .. import selectors, services
from ..filtersets import ServiceBindingFilterSet, ServiceInstanceFilterSet
from ..models import BindingState, ServiceBinding, ServiceInstance
from . import serializers as s


class ReadsAddons(permissions.BasePermission):
    def has_permission(self, request, view):
        if as_principal(request).has_scope("addons", "read"):
            return True
        self.message = missing_scope("addons", "read")
        return False


class ServiceOfferingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The marketplace: the add-ons the platform offers, each with its plans (limits, and whether a
    plan needs approval). The same for every tenant; operators publish them."""

    permission_classes = [permissions.IsAuthenticated, ReadsAddons]
    serializer_class = s.ServiceOfferingSerializer
    lookup_field = "slug"
    pagination_class = None

    def get_queryset(self):
        return selectors.offering_list()


class ServiceInstanceViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Add-on instances. Creating one answers 202 at once: `state` moves `provisioning -> ready | failed`
    (or waits in `pending_approval` for a change request). DELETE answers 202 and removes it with its
    data; it is refused (409 `instance_bound`, naming them) while applications are bound."""

    model = ServiceInstance
    serializer_class = s.ServiceInstanceSerializer
    filterset_class = ServiceInstanceFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "environment", "offering", "plan").order_by("-id")

    @extend_schema(request=s.ServiceInstanceCreateSerializer, responses={202: s.ServiceInstanceSerializer})
    def create(self, request):
        data = s.ServiceInstanceCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        instance = services.instance_create(actor=self.principal, **data.validated_data)
        return Response(self.get_serializer(instance).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={202: s.ServiceInstanceSerializer})
    def destroy(self, request, pk=None):
        instance = services.instance_deprovision(actor=self.principal, instance=self.get_object())
        return Response(self.get_serializer(instance).data, status=status.HTTP_202_ACCEPTED)


class ServiceBindingViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Bindings: an application's own credential for an instance, written as the Secret
    `<application>-addons` in the instance's environment; the application's next deployment gets its
    variables (DATABASE_URL, REDIS_URL ..., prefixed with the instance's name when it binds two of a
    kind). Creating one shows the variables once, to owners and admins. DELETE revokes the credential at
    the provider first."""

    model = ServiceBinding
    serializer_class = s.ServiceBindingSerializer
    filterset_class = ServiceBindingFilterSet

    def optimise(self, queryset):
        return queryset.select_related("tenant", "instance__environment", "application").order_by("-id")

    @extend_schema(
        request=s.ServiceBindingCreateSerializer,
        responses={201: s.ServiceBindingWithCredentialsSerializer, 202: s.ServiceBindingSerializer},
    )
    def create(self, request):
        data = s.ServiceBindingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        instance = get_object_or_404(selectors.nameable(ServiceInstance, request), pk=data.validated_data["instance"])
        ref = data.validated_data["application"]
        application = get_object_or_404(
            selectors.nameable(Application, request),
            tenant=instance.tenant,
            **({"pk": ref} if isinstance(ref, int) else {"name": ref}),
        )
        binding, variables = services.binding_create(actor=self.principal, instance=instance, application=application)
        if binding.state == BindingState.BINDING:  # a broker binding asynchronously: polled until it is done
            return Response(
                self.get_serializer(self.get_queryset().get(pk=binding.pk)).data, status=status.HTTP_202_ACCEPTED
            )
        return self._with_credentials(binding, variables, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ServiceBindingWithCredentialsSerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        """New credentials for the binding; the old ones keep working for the overlap
        (ADDON_ROTATION_OVERLAP_SECONDS) while the running pods restart onto the new, then are revoked.
        409 `conflict` while a rotation still overlaps."""
        binding, variables = services.binding_rotate(actor=self.principal, binding=self.get_object())
        return self._with_credentials(binding, variables, status.HTTP_200_OK)

    def _with_credentials(self, binding, variables, code):
        """The only responses that carry credentials (owners and admins); no browser or proxy keeps a copy."""
        body = dict(self.get_serializer(self.get_queryset().get(pk=binding.pk)).data)
        if policy_for(ServiceBinding).can_see_credentials(self.principal, binding.tenant):
            body["credentials"] = variables
        response = Response(body, status=code)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(responses={202: s.ServiceBindingSerializer, 204: None})
    def destroy(self, request, pk=None):
        """204 once revoked; 202 (state `unbinding`) while a broker revokes asynchronously."""
        binding = services.binding_delete(actor=self.principal, binding=self.get_object())
        if binding.state == BindingState.UNBINDING:
            return Response(self.get_serializer(binding).data, status=status.HTTP_202_ACCEPTED)
        return Response(status=status.HTTP_204_NO_CONTENT)
