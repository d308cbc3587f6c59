"""Adding a PostgreSQL add-on to an application from the browser and deploying it: the instance page
turns ready live, "Add a service" on the application page binds it and shows the connection details
once, and the deployment's pods take them from the application's add-on Secret (real worker, real
password-only PostgreSQL, real sandbox cluster)."""

import base64
import re

import psycopg
import pytest
from kubernetes import client as k8s
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.deployments.conftest import make_app, make_release, registered
from tests.e2e.test_deploy_journey import sign_in
from tests.marketplace.conftest import pg_server, postgres  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_a_postgresql_service_to_an_application_and_deploy_it(
    page,
    asgi_server,
    world,
    sandbox,
    celery_worker,
    postgres,  # noqa: F811
):
    registered(world, sandbox)
    app = make_app(world.acme, "shop")
    make_release(app, image="registry.example/shop:1.0")
    sign_in(page, asgi_server, world.user("owner").email)

    page.goto(f"{asgi_server}/t/acme/addons/")
    expect(page.locator("#marketplace")).to_contain_text("PostgreSQL")
    page.get_by_label("Plan").select_option(label="PostgreSQL · Small")
    page.get_by_label("Environment").select_option("dev")
    page.get_by_label("Name").fill("shopdb")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/t/acme/addons/\d+/$"))
    expect(page.locator("#instance-state .badge")).to_have_text("Ready", timeout=30000)

    # The instance page reloads itself once the state it was drawn with changes, which aborts a
    # navigation started just then: go on once that reload is over.
    for attempt in range(3):
        try:
            page.goto(f"{asgi_server}/t/acme/apps/shop/")
            break
        except PlaywrightError as error:
            if "ERR_ABORTED" not in str(error) or attempt == 2:
                raise
    page.get_by_label("Add a service").select_option(label="shopdb (PostgreSQL, dev)")
    page.get_by_role("button", name="Add a service").click()
    expect(page.locator("#credentials")).to_contain_text("shown once")
    url = page.locator("#variable-1").input_value()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0].startswith("addon_")
    page.get_by_role("link", name="Done").click()
    expect(page.locator("#bindings")).to_contain_text("shop")
    assert "postgresql://" not in page.content()

    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    page.locator("#deploy-application").click()
    page.get_by_label("Environment").select_option(label="dev (non-production)")
    page.get_by_role("button", name="Preview manifests").click()
    expect(page.locator("#manifests")).to_contain_text("name: shop-addons")
    page.get_by_role("button", name="Confirm and deploy").click()
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=60000)

    deployment = k8s.AppsV1Api(sandbox.api_client()).read_namespaced_deployment("shop", "acme--dev")
    sources = [
        source.secret_ref.name for source in deployment.spec.template.spec.containers[0].env_from if source.secret_ref
    ]
    assert sources == ["shop-addons"]
    secret = k8s.CoreV1Api(sandbox.api_client()).read_namespaced_secret("shop-addons", "acme--dev")
    assert base64.b64decode(secret.data["DATABASE_URL"]).decode() == url
    assert [error for error in page.console_errors if "Failed to load resource" not in error] == []
