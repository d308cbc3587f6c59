"""The add-on pages: the marketplace, adding an add-on, the instance page, binding from the instance page
and from the application page ("Add a service"), connection details shown once to owners and admins."""

import pytest
from django.urls import reverse

from apps.marketplace import services
from apps.marketplace.models import ServiceBinding, ServiceInstance

from .conftest import make_app, provision

pytestmark = pytest.mark.django_db


def test_a_developer_adds_an_addon_from_the_marketplace(world, client, postgres):
    client.force_login(world.user("developer"))
    page = client.get(reverse("marketplace:list", kwargs={"tenant_slug": "acme"}))
    assert page.status_code == 200 and "PostgreSQL" in page.content.decode() and "Reader" in page.content.decode()
    response = client.post(
        reverse("marketplace:list", kwargs={"tenant_slug": "acme"}),
        {"plan": "postgresql/small", "environment": "dev", "name": "main"},
    )
    instance = ServiceInstance.objects.get(name="main")
    assert response.status_code == 302 and response["Location"].endswith(f"/addons/{instance.pk}/")
    detail = client.get(response["Location"]).content.decode()
    assert "Provisioning" in detail and "Waiting for the provider" in detail
    clash = client.post(
        reverse("marketplace:list", kwargs={"tenant_slug": "acme"}),
        {"plan": "postgresql/small", "environment": "dev", "name": "main"},
    )
    assert clash.status_code == 400 and "exists in dev" in clash.content.decode()


def test_an_owner_sees_the_connection_details_once_a_developer_never(world, client, cluster, postgres):
    instance = provision(world, postgres)
    web, worker = make_app(world.acme, "web"), make_app(world.acme, "worker")
    client.force_login(world.user("owner"))
    url = reverse("marketplace:bind", kwargs={"tenant_slug": "acme", "pk": instance.pk})
    shown = client.post(url, {"application": web.pk})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    body = shown.content.decode()
    assert "DATABASE_URL" in body and "postgresql://" in body and "shown once" in body
    detail = client.get(reverse("marketplace:detail", kwargs={"tenant_slug": "acme", "pk": instance.pk}))
    assert "postgresql://" not in detail.content.decode() and "web-addons" in detail.content.decode()

    client.force_login(world.user("developer"))
    bound = client.post(url, {"application": worker.pk})
    assert bound.status_code == 302
    assert "postgresql://" not in client.get(bound["Location"]).content.decode()
    assert ServiceBinding.objects.filter(instance=instance).count() == 2


def test_add_a_service_on_the_application_page(world, client, cluster, postgres):
    instance = provision(world, postgres, name="orders")
    app = make_app(world.acme, "shop")
    client.force_login(world.user("developer"))
    page = client.get(reverse("catalog:detail", kwargs={"tenant_slug": "acme", "name": "shop"})).content.decode()
    assert "Add a service" in page and "orders (PostgreSQL, dev)" in page
    response = client.post(
        reverse("marketplace:bind-application", kwargs={"tenant_slug": "acme"}),
        {"instance": instance.pk, "application": app.pk},
    )
    assert response.status_code == 302
    page = client.get(reverse("catalog:detail", kwargs={"tenant_slug": "acme", "name": "shop"})).content.decode()
    assert "No add-ons bound." not in page and f"/addons/{instance.pk}/" in page


def test_removing_a_bound_addon_names_the_applications(world, client, cluster, postgres):
    instance = provision(world, postgres)
    app = make_app(world.acme, "web")
    services.binding_create(actor=world.principal("developer"), instance=instance, application=app)
    client.force_login(world.user("developer"))
    response = client.post(
        reverse("marketplace:remove", kwargs={"tenant_slug": "acme", "pk": instance.pk}), follow=True
    )
    assert "Unbind web first" in response.content.decode()
    assert ServiceInstance.objects.get(pk=instance.pk).state == "ready"
