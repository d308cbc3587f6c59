"""Hosts named by releases cut before host claims existed go to the tenant that named them first."""

from django.db import migrations


def claim_existing_hosts(apps, schema_editor):
    Release = apps.get_model("catalog", "Release")
    HostClaim = apps.get_model("tenants", "HostClaim")
    claimed = set(HostClaim.objects.values_list("host", flat=True))
    for host, tenant_id in (
        Release.objects.exclude(ingress_host="").order_by("created_at", "id").values_list("ingress_host", "tenant_id")
    ):
        host = host.lower().rstrip(".")
        if host not in claimed:
            HostClaim.objects.create(host=host, tenant_id=tenant_id)
            claimed.add(host)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial"), ("tenants", "0002_names_are_claims")]
    operations = [migrations.RunPython(claim_existing_hosts, migrations.RunPython.noop)]
