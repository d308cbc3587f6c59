"""The deployments list filters by application, environment, state, strategy and who asked; the
applications list shows where each runs now and filters by it. Filters live in the URL."""

import re

import pytest

from apps.deployments.models import Deployment
from apps.deployments.views import PAGE_SIZE
from apps.tenants.roles import Role
from apps.workloads.models import Health, Workload

from .conftest import make_app, make_release

pytestmark = pytest.mark.django_db


def deployed(world, app, environment, *, state="succeeded", who=Role.DEVELOPER, strategy="rolling"):
    release = app.releases.order_by("-number").first() or make_release(app)
    return Deployment.objects.create(
        tenant=world.acme,
        application=app,
        release=release,
        environment=world.acme.environments.get(name=environment),
        state=state,
        strategy=strategy,
        requested_by=world.user(who),
    )


def listed(client, query: str) -> list[int]:
    page = client.get(f"/t/acme/deployments/{query}").content.decode()
    return [int(pk) for pk in re.findall(r'/t/acme/deployments/(\d+)/"', page)]


def test_the_deployments_list_filters_and_keeps_the_filter_in_the_url(world, client):
    shop, blog = make_app(world.acme, "shop"), make_app(world.acme, "blog")
    shop_dev = deployed(world, shop, "dev")
    shop_prod = deployed(world, shop, "prod", state="failed", who=Role.ADMIN, strategy="canary")
    blog_dev = deployed(world, blog, "dev", state="queued")
    client.force_login(world.user(Role.VIEWER))

    assert listed(client, "") == [blog_dev.pk, shop_prod.pk, shop_dev.pk]
    assert listed(client, "?application=shop") == [shop_prod.pk, shop_dev.pk]
    assert listed(client, "?environment=dev") == [blog_dev.pk, shop_dev.pk]
    assert listed(client, "?state=failed") == [shop_prod.pk]
    assert listed(client, "?strategy=canary") == [shop_prod.pk]
    assert listed(client, f"?who={world.user(Role.ADMIN).email}") == [shop_prod.pk]
    assert listed(client, "?application=shop&environment=dev&state=succeeded") == [shop_dev.pk]

    page = client.get("/t/acme/deployments/?application=shop&state=failed").content.decode()
    assert 'id="deployment-filters"' in page
    assert re.search(r"<option value=\"shop\" selected>shop</option>", page)
    assert re.search(r'<option value="failed" selected>Failed</option>', page)
    # Environments in promotion order, not by name.
    environment_select = page[
        page.index('name="environment"') : page.index("</select>", page.index('name="environment"'))
    ]
    assert re.findall(r'<option value="(\w+)"', environment_select) == ["dev", "staging", "prod"]
    assert (
        "No deployment matches these filters."
        in client.get("/t/acme/deployments/?application=blog&state=failed").content.decode()
    )


def test_the_applications_list_shows_where_each_runs_and_filters_by_it(world, client):
    shop, blog = make_app(world.acme, "shop"), make_app(world.acme, "blog")
    first, second = make_release(shop), make_release(shop)
    environments = {env.name: env for env in world.acme.environments.all()}
    for name, release in (("prod", first), ("dev", second), ("staging", second)):
        Workload.objects.create(
            tenant=world.acme, application=shop, environment=environments[name], release=release, health=Health.HEALTHY
        )
    client.force_login(world.user(Role.VIEWER))
    page = client.get("/t/acme/apps/").content.decode()
    row = page[page.index('href="/t/acme/apps/shop/"') :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'data-environment="(\w+)"[^>]*>\w+ <strong>#(\d+)</strong>', row) == [
        ("dev", "2"),
        ("staging", "2"),
        ("prod", "1"),
    ]
    blog_row = page[page.index('href="/t/acme/apps/blog/"') :]
    assert "nowhere" in blog_row[: blog_row.index("</tr>")]

    filtered = client.get("/t/acme/apps/?runs_in=prod").content.decode()
    assert 'href="/t/acme/apps/shop/"' in filtered and 'href="/t/acme/apps/blog/"' not in filtered
    assert '<option value="prod" selected>' in filtered
    assert 'href="/t/acme/apps/shop/"' not in client.get("/t/acme/apps/?q=bl").content.decode()
    assert blog.pk and 'href="/t/acme/apps/blog/"' in client.get("/t/acme/apps/?q=bl").content.decode()


def test_environments_read_in_promotion_order_not_by_name(world, client):
    """dev, staging, prod: the order a release travels, on the application page, the deploy settings
    and the approval policies (by name it was dev, prod, staging)."""
    make_app(world.acme, "shop")
    client.force_login(world.user(Role.ADMIN))
    app_page = client.get("/t/acme/apps/shop/").content.decode()
    slots = re.findall(r'data-slot="\d+:(\d+)"', app_page)
    names = dict(world.acme.environments.values_list("pk", "name"))
    assert [names[int(pk)] for pk in slots] == ["dev", "staging", "prod"]
    for path in ("/t/acme/deployments/settings/", "/t/acme/approvals/policies/"):
        page = client.get(path).content.decode()
        assert re.findall(r'<tr data-environment="(\w+)"', page) == ["dev", "staging", "prod"], path


def test_times_read_one_way_a_24_hour_clock(world, client):
    deployment = deployed(world, make_app(world.acme, "shop"), "dev")
    Deployment.objects.filter(pk=deployment.pk).update(created_at="2026-12-06T23:07:55Z")
    client.force_login(world.user(Role.VIEWER))
    page = client.get("/t/acme/deployments/").content.decode()
    assert ">2026-12-06 23:07:55</time>" in page
    assert "p.m." not in page and "a.m." not in page


def test_a_row_shows_what_was_deployed_where_how_and_by_whom(world, client):
    shop = make_app(world.acme, "shop")
    asked = deployed(world, shop, "prod", state="failed", who=Role.ADMIN, strategy="canary")
    removed = deployed(world, shop, "dev")
    Deployment.objects.filter(pk=removed.pk).update(requested_by=None, removed_at="2026-12-06T23:07:55Z")
    client.force_login(world.user(Role.VIEWER))
    page = client.get("/t/acme/deployments/").content.decode()

    def row(deployment) -> list[str]:
        start = page.index(f'href="/t/acme/deployments/{deployment.pk}/"')  # in the first cell, the number
        cells = re.findall(r"<td[^>]*>(.*?)</td>", page[start : page.index("</tr>", start)], re.S)
        return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]

    number = asked.release.number
    assert row(asked)[:5] == ["shop", f"#{number}", "prod", "Canary", "Failed"]
    assert row(asked)[5].startswith(f"{world.user(Role.ADMIN).email},")
    assert '<span class="badge text-bg-danger" data-state="failed">Failed</span>' in page
    assert row(removed)[:5] == ["shop", f"#{number}", "dev", "Rolling update", "Succeeded Removed"]
    assert row(removed)[5].startswith("platform,")


def test_the_deployments_list_pages_back_through_older_deployments_keeping_its_filter(world, client):
    shop, blog = make_app(world.acme, "shop"), make_app(world.acme, "blog")
    shops = [deployed(world, shop, "dev").pk for _ in range(PAGE_SIZE + 3)]
    for _ in range(5):
        deployed(world, blog, "dev")
    client.force_login(world.user(Role.VIEWER))

    first = client.get("/t/acme/deployments/?application=shop").content.decode()
    newest = shops[::-1]
    assert listed(client, "?application=shop") == newest[:PAGE_SIZE]
    older = re.search(r'href="\?application=shop&amp;before=(\d+)" id="older"', first)
    assert older and int(older.group(1)) == newest[PAGE_SIZE - 1]
    second = f"?application=shop&before={older.group(1)}"
    assert listed(client, second) == newest[PAGE_SIZE:]
    page = client.get(f"/t/acme/deployments/{second}").content.decode()
    assert 'id="older"' not in page and 'href="?application=shop" id="newest"' in page
    # Nothing to page through: no footer; a `before` that is not an id reads from the newest.
    assert 'id="older"' not in client.get("/t/acme/deployments/?application=blog").content.decode()
    assert listed(client, "?application=shop&before=x") == newest[:PAGE_SIZE]
