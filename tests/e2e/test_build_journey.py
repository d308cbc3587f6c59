"""Building from the browser: upload a context on the application's page, follow the build's log live
as the engine writes it, and deploy the release the build cut (real worker, engine, registry, sandbox)."""

import re

import pytest
from playwright.sync_api import expect

from apps.builds.models import Build
from tests.builds.conftest import context, dockerfile, finished, log_text
from tests.deployments.conftest import make_app, make_release, registered
from tests.e2e.test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_options():
    return {"ready_after": 1.0}


def test_follow_a_build_live_and_deploy_it(page, asgi_server, world, sandbox, build_stack, celery_worker, tmp_path):
    registered(world, sandbox)
    make_release(make_app(world.acme, "shop"), image="registry.example/shop:1.0")
    archive = tmp_path / "context.tar.gz"
    slow = 'RUN ["/bin/sh", "-c", "for i in 1 2 3 4 5 6; do echo counting $i; sleep 0.5; done"]'
    archive.write_bytes(context({"Dockerfile": dockerfile(slow)}))
    sign_in(page, asgi_server, world.user("developer").email)

    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    expect(page.locator("#builds")).to_contain_text("No builds yet.")
    page.get_by_role("link", name="New build").click()
    page.get_by_label("Context (.tar.gz)").set_input_files(str(archive))
    page.get_by_label("Tag", exact=True).fill("v2")
    page.get_by_role("button", name="Start the build").click()
    expect(page).to_have_url(re.compile(r"/t/acme/builds/\d+/$"))
    page.evaluate("window.stillTheSamePage = true")

    log = page.locator("#build-log")
    # The lines arrive one by one while the build runs, not all at the end.
    expect(log).to_contain_text("counting 2", timeout=60000)
    assert Build.objects.get().state in ("running", "pushing")
    expect(log).to_contain_text("counting 6", timeout=30000)
    build = finished(Build.objects.get().pk)
    assert build.state == "succeeded", f"{build.outcome}\n{log_text(build)[-3000:]}"
    expect(page.locator("#build-state .badge")).to_have_text("Succeeded")
    expect(page.locator("#build-digest")).to_have_text(build.digest)
    assert page.evaluate("window.stillTheSamePage") is True
    seqs = [int(s) for s in log.locator("[data-seq]").evaluate_all("lines => lines.map(l => l.dataset.seq)")]
    assert seqs == list(range(1, build.last_seq + 1))
    expect(page.locator("#cancel-form")).to_be_hidden()

    page.get_by_role("link", name="Deploy this build").click()
    expect(page.get_by_label("Release")).to_have_value(str(build.release_id))
    page.get_by_label("Environment").select_option(label="dev (non-production)")
    page.get_by_role("button", name="Preview manifests").click()
    expect(page.locator("#manifests")).to_contain_text(build.digest)
    page.get_by_role("button", name="Confirm and deploy").click()
    expect(page.locator("#deployment-state .badge")).to_have_text("Succeeded", timeout=30000)

    page.goto(f"{asgi_server}/t/acme/apps/shop/")
    row = page.locator(f"#builds tr[data-build='{build.pk}']")
    expect(row).to_contain_text("Succeeded")
    expect(row).to_contain_text("developer@acme.test")
    expect(row).to_contain_text(build.digest[:19])
    assert page.console_errors == []
