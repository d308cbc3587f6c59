"""CMDB pages: declaring an item and a relationship from the browser, conflicts and history on the
item page, saved searches, and the import page's dry run."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.cmdb.models import ConfigurationItem, Relationship, SavedFilter

from .conftest import make_item

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"cmdb:{name}", kwargs={"tenant_slug": "acme", **kwargs})


def test_declare_and_relate_from_the_pages(world, client):
    client.force_login(world.user("developer"))
    response = client.post(url("new"), {"ci_type": "application", "name": "billing"})
    billing = ConfigurationItem.objects.get(name="billing")
    assert response.status_code == 302 and response["Location"] == url("detail", pk=billing.pk)
    refused = client.post(url("new"), {"ci_type": "database", "name": "db", "attributes": '{"engine": 1}'})
    assert refused.status_code == 400 and "engine" in refused.content.decode()
    payments = make_item(world.acme, "payments API", type_slug="external-service")
    response = client.post(url("relationship-new", pk=billing.pk), {"kind": "depends_on", "target": payments.pk})
    assert response.status_code == 302 and Relationship.objects.filter(source=billing, target=payments).exists()
    self_edge = client.post(url("relationship-new", pk=billing.pk), {"kind": "depends_on", "target": billing.pk})
    assert self_edge.status_code == 400  # not even offered as a target
    page = client.get(url("detail", pk=payments.pk)).content.decode()
    assert "billing" in page and 'id="downstream"' in page


def test_conflicts_and_history_show_on_the_item_page(world, client):
    item = make_item(
        world.acme,
        "web",
        type_slug="workload",
        declared_attributes={"image": "web:2"},
        discovered_attributes={"image": "web:1"},
    )
    client.force_login(world.user("viewer"))
    page = client.get(url("detail", pk=item.pk)).content.decode()
    assert 'id="conflicts"' in page and "web:2" in page and "web:1" in page


def test_saved_search(world, client):
    make_item(world.acme, "orders-db")
    make_item(world.acme, "jobs", type_slug="queue")
    client.force_login(world.user("developer"))
    client.post(url("filter-save"), {"name": "databases", "type": "database"})
    saved = SavedFilter.objects.get(name="databases")
    page = client.get(url("list") + f"?saved={saved.pk}").content.decode()
    assert "orders-db" in page and "jobs" not in page


def test_import_page_dry_run(world, client):
    client.force_login(world.user("developer"))
    upload = SimpleUploadedFile("items.csv", b"type,name\ndatabase,orders-db\nnope,bad\n")
    response = client.post(url("import"), {"file": upload, "dry_run": "on"})
    page = response.content.decode()
    assert 'id="import-report"' in page and "Dry run" in page
    assert not ConfigurationItem.objects.filter(name="orders-db").exists()


def test_operator_page(world, client):
    make_item(None, "node-1", type_slug="node")
    client.force_login(world.operator)
    assert "node-1" in client.get(reverse("operator:cmdb")).content.decode()
    client.force_login(world.user("owner"))
    assert client.get(reverse("operator:cmdb")).status_code == 404


def test_attributes_and_history_read_as_words_not_python(world, client):
    item = make_item(
        world.acme,
        "shop",
        type_slug="workload",
        declared_attributes={"component_kind": "web", "ports": [{"name": "http", "port": 80}], "public": True},
    )
    client.force_login(world.user("viewer"))
    page = client.get(url("detail", pk=item.pk)).content.decode()
    assert "{&#x27;" not in page and "[{" not in page and "&#x27;" not in page
    assert "component_kind" in page and '<code class="text-reset">web</code>' in page
    assert "name=http, port=80" in page and ">yes<" in page
