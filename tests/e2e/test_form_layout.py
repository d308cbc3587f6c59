"""Forms stay inside their boxes: the freeze form's weekday checkboxes sit inline in the card, each
with its label, and saving with them works."""

import pytest
from playwright.sync_api import expect

from apps.approvals.models import FreezeWindow

from .test_deploy_journey import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"]
        and inner["y"] >= outer["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    )


def test_the_weekday_checkboxes_stay_inside_the_freeze_form(page, asgi_server, world):
    sign_in(page, asgi_server, world.user("admin").email)
    page.goto(f"{asgi_server}/t/acme/approvals/freezes/")
    weekdays = page.locator("#id_weekdays")
    box = weekdays.bounding_box()
    assert box["height"] < 80, box  # one or two lines of checks, not a 1em box they spill out of
    card = page.locator("#freeze-form .card-body").bounding_box()
    checks = page.locator('#id_weekdays input[type="checkbox"]')
    expect(checks).to_have_count(7)
    for i in range(7):
        assert inside(checks.nth(i).bounding_box(), box) and inside(checks.nth(i).bounding_box(), card)

    page.get_by_label("Name").fill("Weekend")
    page.get_by_label("Sat").check()
    page.get_by_label("Sun").check()
    page.get_by_label("Recurrence").select_option("weekly")
    page.get_by_label("From (weekly, UTC)").fill("00:00")
    page.get_by_label("Until (weekly, UTC)").fill("23:00")
    page.get_by_role("button", name="Add freeze").click()
    expect(page.locator("body")).to_contain_text("Sat, Sun")
    assert FreezeWindow.objects.get().weekdays == [5, 6]
