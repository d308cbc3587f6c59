"""The default plan: generous enough that no ordinary use meets it, so existing tenants notice nothing."""

from django.db import migrations

STANDARD = {
    "name": "Standard",
    "description": "Every tenant without a plan of its own.",
    "requests_per_second": 50,
    "burst": 100,
    "tenant_requests_per_second": 100,
    "tenant_burst": 200,
    "daily_quota": 1_000_000,
    "monthly_quota": 20_000_000,
    "is_default": True,
}


def create_default_plan(apps, schema_editor):
    Plan = apps.get_model("apikeys", "Plan")
    if not Plan.objects.filter(is_default=True).exists():
        Plan.objects.get_or_create(name=STANDARD["name"], defaults=STANDARD)


class Migration(migrations.Migration):
    dependencies = [("apikeys", "0002_plans_and_usage")]

    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
