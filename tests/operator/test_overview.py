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
    from apps.tenants.models import Environment, Membership, Quota, Tenant

    users = get_user_model().objects
    assert users.count() == 9
    assert users.get(email="operator@example.com").is_staff
    assert users.get(email="developer@acme.example.com").check_password("portal-demo-pass")
    assert sorted(Tenant.objects.values_list("slug", flat=True)) == ["acme", "globex"]
    assert Membership.objects.filter(tenant__slug="acme").count() == 4
    assert Membership.objects.get(tenant__slug="globex", user__email="viewer@globex.example.com").role == "viewer"
    assert Environment.objects.filter(tenant__slug="acme").count() == 3
    assert Quota.objects.filter(tenant__slug="acme").count() == 5


def test_seed_demo_declares_cmdb_facts_and_a_production_approval_policy(db):
    from django.core.management import call_command

    from apps.approvals.models import ApprovalPolicy
    from apps.cmdb.models import ConfigurationItem, Relationship

    call_command("seed_demo")
    call_command("seed_demo")
    assert ApprovalPolicy.objects.get(tenant__slug="acme").environment.name == "prod"
    assert ConfigurationItem.objects.filter(tenant__slug="acme", name="payments-api").count() == 1
    declared = Relationship.objects.filter(tenant__slug="acme", provenance="declared")
    assert {"orders-db", "payments-api", "web-team"} <= set(declared.values_list("target__name", flat=True))
    assert declared.filter(target__name="payments-api").count() == 1  # the second run added nothing


def test_scheduled_jobs_read_as_words(client, operator):
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="tidy", task="x.tidy", interval=every_minute, last_run_at=timezone.now())
    client.force_login(operator)
    page = client.get("/operator/").content.decode()
    assert "every minute" in page and "freq" not in page and "&lt;" not in page
    assert " UTC</time>" in page
