"""Each application's ingress host, as its live release in each environment names it, becomes a route.

Before routes existed, a release's ingress_host was rendered straight into an Ingress named after the
application; the route made here renders the same Ingress (same name, host, path and port), so the
next deploy changes nothing but the route's labels. A host another route already serves is skipped.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Deployment = apps.get_model("deployments", "Deployment")
    Route = apps.get_model("traffic", "Route")
    live = (
        Deployment.objects.filter(state="succeeded", removed_at__isnull=True)
        .exclude(release__ingress_host="")
        .select_related("release", "application", "environment")
        .order_by("application_id", "environment_id", "-id")
        .distinct("application_id", "environment_id")
    )
    for deployment in live:
        release, application, environment = deployment.release, deployment.application, deployment.environment
        if application.component_kind != "web" or not release.ports:
            continue
        host = release.ingress_host.strip().lower().rstrip(".")
        path = release.ingress_path or "/"
        taken = Route.objects.filter(environment=environment).filter(name=application.name).exists() or (
            Route.objects.filter(environment=environment, host=host, path=path).exists()
        )
        if taken:
            continue
        Route.objects.create(
            tenant_id=deployment.tenant_id,
            environment=environment,
            application=application,
            name=application.name,
            host=host,
            path=path,
            service_port=int(release.ports[0]["port"]),
            from_release=True,
            state="applied",
            applied_at=deployment.finished_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("traffic", "0001_initial"),
        ("deployments", "0007_deploy_settings_self_heal"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
