"""Reads of the marketplace, always through the restricted querysets for tenant rows."""

from __future__ import annotations

from django.db.models import Prefetch

from apps.catalog.models import Application
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from .models import InstanceState, ServiceBinding, ServiceInstance, ServiceOffering, ServicePlan, SharedServer


def offering_list():
    """The published offerings with their plans, for every signed-in member (the marketplace)."""
    return (
        ServiceOffering.objects.filter(is_active=True)
        .prefetch_related(Prefetch("plans", queryset=ServicePlan.objects.order_by("position", "slug")))
        .order_by("name")
    )


def instance_list_for(principal, tenant=None):
    rows = ServiceInstance.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    return rows.select_related("tenant", "environment", "offering", "plan").order_by("environment__name", "name")


def binding_list_for(principal, tenant=None, *, instance=None, application=None):
    rows = ServiceBinding.objects.restrict(principal, "view")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    if instance is not None:
        rows = rows.filter(instance=instance)
    if application is not None:
        rows = rows.filter(application=application)
    return rows.select_related("tenant", "instance__environment", "instance__offering", "application").order_by(
        "application__name", "instance__name"
    )


def bindable_applications(instance: ServiceInstance):
    """The applications of the instance's tenant not bound to it yet, by name."""
    bound = ServiceBinding.objects.filter(instance=instance).values_list("application_id", flat=True)
    return Application.objects.filter(tenant=instance.tenant_id).exclude(pk__in=bound).order_by("name")


def nameable(model, principal):
    """Rows a request may name (an application to bind, an environment to provision into): those of
    the caller's tenants; the write's own policy then decides."""
    return model.objects.filter(tenant_id__in=as_principal(principal).tenant_ids(Role.VIEWER))


def servers_of_the_platform():
    return SharedServer.objects.order_by("name")


def offerings_of_the_platform():
    """Every offering, published or withdrawn, with its plans and server (the operator console)."""
    return (
        ServiceOffering.objects.select_related("server")
        .prefetch_related(Prefetch("plans", queryset=ServicePlan.objects.order_by("position", "slug")))
        .order_by("name")
    )


def failed_instances_of_every_tenant():
    return (
        ServiceInstance.objects.filter(state=InstanceState.FAILED)
        .select_related("tenant", "environment", "offering", "plan")
        .order_by("-updated_at")
    )


def instance_of_any_tenant(pk: int):
    return ServiceInstance.objects.filter(pk=pk).first()
