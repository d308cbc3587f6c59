"""Load demo data for local runs. Safe to run again: it only creates what is missing."""

from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.approvals.demo import seed_approvals
from apps.catalog.demo import seed_catalog
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register
from apps.cmdb.demo import seed_cmdb
from apps.marketplace.demo import seed_marketplace
from apps.operator.demo import DEMO_PASSWORD, DEMO_QUOTAS, DEMO_TENANTS, DEMO_USERS
from apps.tenants.models import Membership, Quota, Tenant
from apps.tenants.principals import as_principal
from apps.tenants.services import quota_set, tenant_create

USER_FIELDS = ("email", "full_name", "is_staff", "is_superuser")


class Command(BaseCommand):
    help = "Create demo users, the tenants acme and globex with one member per role, and quotas (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        Site.objects.update_or_create(
            id=settings.SITE_ID, defaults={"domain": urlsplit(settings.PORTAL_URL).netloc, "name": settings.SITE_NAME}
        )
        users = {spec["email"]: self._user(spec) for spec in DEMO_USERS}
        operator = as_principal(users["operator@example.com"])
        if settings.SANDBOX_CLUSTER_URL:
            self._sandbox_cluster(operator, settings.SANDBOX_CLUSTER_URL)
        for slug, name in DEMO_TENANTS.items():
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = tenant_create(actor=as_principal(users[f"owner@{slug}.example.com"]), slug=slug, name=name)
                self.stdout.write(f"created tenant {slug}")
            for spec in DEMO_USERS:
                if spec.get("tenant") == slug:
                    Membership.objects.get_or_create(
                        tenant=tenant, user=users[spec["email"]], defaults={"role": spec["role"]}
                    )
            for resource, limit in DEMO_QUOTAS.items():
                if not Quota.objects.filter(tenant=tenant, resource=resource, environment=None).exists():
                    quota_set(operator=operator, tenant=tenant, resource=resource, limit=limit)
        seed_catalog(users)
        seed_approvals(users)
        seed_cmdb(users)
        for line in seed_marketplace(operator):
            self.stdout.write(line)

    def _sandbox_cluster(self, operator, url):
        """The embedded sandbox is the default cluster; its port may change between runs."""
        cluster = Cluster.objects.filter(name="sandbox").first()
        if cluster is None:
            cluster_register(
                operator=operator,
                name="sandbox",
                auth_method=Cluster.Auth.SANDBOX,
                api_url=url,
                description="The embedded sandbox cluster of make run",
                ingress_namespace="ingress-nginx",
                is_default=True,
            )
            self.stdout.write(f"registered the sandbox cluster at {url}")
        elif cluster.api_url != url:
            Cluster.objects.filter(pk=cluster.pk).update(api_url=url)

    def _user(self, spec):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            email=spec["email"], defaults={key: spec[key] for key in USER_FIELDS}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            self.stdout.write(f"created {user.email}")
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        return user
