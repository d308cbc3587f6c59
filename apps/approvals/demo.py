"""Demo approvals for `manage.py seed_demo`: acme's prod needs an admin's or an owner's approval."""

from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from .models import ApprovalPolicy
from .services.configuration import approval_policy_save


def seed_approvals(users: dict) -> None:
    """Give acme's prod a one-stage policy (admins and owners, quorum 1) unless it has one already."""
    tenant = Tenant.objects.filter(slug="acme").first()
    prod = tenant.environments.filter(name="prod").first() if tenant else None
    if prod is None or ApprovalPolicy.objects.filter(environment=prod).exists():
        return
    approval_policy_save(
        actor=Principal(users["owner@acme.example.com"]),
        tenant=tenant,
        environment=prod,
        stages=[{"name": "Admins", "quorum": 1, "roles": ["admin", "owner"]}],
    )
