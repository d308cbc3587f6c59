"""The operator console is for staff only; others get the same 404 as a missing page."""


def test_operator_sees_platform_health(client, operator):
    client.force_login(operator)
    response = client.get("/operator/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Platform health" in page and "Database" in page


def test_developer_gets_a_404(client, developer):
    client.force_login(developer)
    assert client.get("/operator/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get("/operator/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_seed_demo_is_idempotent(db):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("seed_demo")
    call_command("seed_demo")
    users = get_user_model().objects.filter(email__in=["operator@example.com", "developer@example.com"])
    assert users.count() == 2
    assert users.get(email="operator@example.com").is_staff
    assert users.get(email="developer@example.com").check_password("portal-demo-pass")
