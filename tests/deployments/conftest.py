"""Applications and releases for deployment tests, and the sandbox cluster registered as the default."""

from apps.catalog.models import Application, Release


def make_app(tenant, name="web", kind="web", **fields):
    return Application.objects.get_or_create(tenant=tenant, name=name, defaults={"component_kind": kind, **fields})[0]


def make_release(app, image="registry.example/web:1.0", **fields):
    number = (app.releases.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    defaults = {
        "ports": [{"name": "http", "port": 8080}] if app.component_kind == "web" else [],
        "replicas": 2,
        "cpu_request": "100m",
        "memory_request": "128Mi",
    }
    return Release.objects.create(
        tenant=app.tenant, application=app, number=number, image=image, **{**defaults, **fields}
    )


def registered(world, sandbox):
    """The sandbox as the default cluster, every environment placed on it and provisioned."""
    from apps.clusters.models import Placement
    from apps.clusters.services import cluster_register
    from tests.conftest import wait_for

    cluster_register(operator=world.operator_principal, name="sandbox", auth_method="sandbox", api_url=sandbox.url)
    wait_for(lambda: Placement.objects.filter(provisioned_at__isnull=False).count() == 6, timeout=30)
