"""Isolation-suite declarations for the marketplace (see api_cases.py and page_cases.py).

Rows are made directly: the offering's server is never contacted by what the suite does (creating an
instance only queues its provisioning; deprovisioning too). Binding writes reach the provider, so
tests/marketplace/test_api.py covers their isolation against real servers.
"""

import secrets
from functools import cache

from django.urls import reverse

from apps.catalog.models import Application
from apps.marketplace.models import (
    BindingState,
    InstanceState,
    ServiceBinding,
    ServiceInstance,
    ServiceOffering,
    ServicePlan,
    SharedServer,
)
from apps.tenants.roles import Role


def offering() -> ServiceOffering:
    found = ServiceOffering.objects.filter(slug="suite-postgres").first()
    if found:
        return found
    server = SharedServer(name="suite-pg", kind="postgres")
    server.admin_url = "postgresql://postgres:x@192.0.2.10:5432/postgres"
    server.save()
    made = ServiceOffering.objects.create(slug="suite-postgres", name="PostgreSQL", kind="postgres", server=server)
    ServicePlan.objects.create(offering=made, slug="small", name="Small")
    return made


def instance(tenant, name=None, **fields) -> ServiceInstance:
    made = offering()
    return ServiceInstance.objects.create(
        tenant=tenant,
        environment=tenant.environments.get(name="dev"),
        offering=made,
        plan=made.plans.first(),
        name=name or f"db-{secrets.token_hex(3)}",
        **{"state": InstanceState.READY, **fields},
    )


def _instances(world, tenant, n, reader):
    return [instance(tenant) for _ in range(n)]


def _bindings(world, tenant, n, reader):
    row = instance(tenant)
    rows = []
    for _ in range(n):
        app = Application.objects.create(tenant=tenant, name=f"app-{secrets.token_hex(3)}")
        binding = ServiceBinding(tenant=tenant, instance=row, application=app, state=BindingState.READY, username="u")
        binding.credentials = {"DATABASE_URL": "postgresql://u:p@192.0.2.10/db"}
        binding.save()
        rows.append(binding)
    return rows


@cache
def _api_cases() -> list:
    from .api_cases import ApiCase

    return [
        ApiCase(
            "serviceinstance",
            ServiceInstance,
            "addons",
            _instances,
            create=lambda world: {
                "tenant": "acme",
                "environment": "dev",
                "offering": offering().slug,
                "plan": "small",
                "name": f"db-{secrets.token_hex(3)}",
            },
            delete=True,
            write_role=Role.DEVELOPER,
        ),
        ApiCase("servicebinding", ServiceBinding, "addons", _bindings, write_role=Role.DEVELOPER),
    ]


NOT_TENANT_ROUTES = {"serviceoffering"}  # the same marketplace for everyone; tests/marketplace/test_api.py


def _list(world, tenant):
    return reverse("marketplace:list", kwargs={"tenant_slug": tenant.slug})


def _on_instance(name):
    return lambda world, tenant: reverse(name, kwargs={"tenant_slug": tenant.slug, "pk": instance(tenant).pk})


def _unbind(world, tenant):
    binding = _bindings(world, tenant, 1, None)[0]
    return reverse(
        "marketplace:unbind", kwargs={"tenant_slug": tenant.slug, "pk": binding.instance_id, "binding_pk": binding.pk}
    )


def _rotate(world, tenant):
    binding = _bindings(world, tenant, 1, None)[0]
    return reverse(
        "marketplace:rotate", kwargs={"tenant_slug": tenant.slug, "pk": binding.instance_id, "binding_pk": binding.pk}
    )


def _bind_application(world, tenant):
    """The form posts the ids; the suite's URL carries them in the query, which the view ignores, so the
    ids go in the data below: acme's rows, made once per test by the URL builder."""
    return reverse("marketplace:bind-application", kwargs={"tenant_slug": tenant.slug})


@cache
def _page_cases() -> list:
    from .page_cases import PageCase, T

    developer = Role.DEVELOPER
    form = {"plan": "suite-postgres/small", "environment": "dev", "name": "suite-db"}
    return [
        PageCase(T + "addons/", _list),
        PageCase(T + "addons/", _list, method="post", write_role=developer, data=form),
        PageCase(T + "addons/<int:pk>/", _on_instance("marketplace:detail")),
        PageCase(T + "addons/<int:pk>/bind/", _on_instance("marketplace:bind"), method="post", write_role=developer),
        PageCase(T + "addons/bind/", _bind_application, method="post", write_role=developer),
        PageCase(T + "addons/<int:pk>/bindings/<int:binding_pk>/unbind/", _unbind, method="post", write_role=developer),
        PageCase(T + "addons/<int:pk>/bindings/<int:binding_pk>/rotate/", _rotate, method="post", write_role=developer),
        PageCase(
            T + "addons/<int:pk>/remove/", _on_instance("marketplace:remove"), method="post", write_role=developer
        ),
    ]


def __getattr__(name: str) -> list:
    if name == "API_CASES":
        return _api_cases()
    if name == "PAGE_CASES":
        return _page_cases()
    raise AttributeError(name)
