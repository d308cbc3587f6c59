"""Demo CMDB items for `manage.py seed_demo`: facts no cluster shows, declared by acme's developer."""

from apps.catalog.models import Application
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from . import keys
from .models import CIType, ConfigurationItem
from .services.items import item_declare, relationship_declare


def seed_cmdb(users: dict) -> None:
    """The storefront depends on an external payments API and on the orders database; a team owns it."""
    acme = Tenant.objects.filter(slug="acme").first()
    storefront = Application.objects.filter(tenant=acme, name="storefront").first() if acme else None
    app_item = ConfigurationItem.objects.filter(key=keys.application_key(storefront.pk)).first() if storefront else None
    if app_item is None or ConfigurationItem.objects.filter(tenant=acme, name="payments-api").exists():
        return
    developer = Principal(users["developer@acme.example.com"])
    types = {ci_type.slug: ci_type for ci_type in CIType.objects.all()}
    payments = item_declare(
        actor=developer,
        tenant=acme,
        ci_type=types["external-service"],
        name="payments-api",
        description="The card processor's API.",
        attributes={"url": "https://payments.example.com/v2"},
    )
    orders = item_declare(
        actor=developer,
        tenant=acme,
        ci_type=types["database"],
        name="orders-db",
        description="PostgreSQL with every order.",
        attributes={"engine": "postgresql"},
    )
    team = item_declare(
        actor=developer,
        tenant=acme,
        ci_type=types["team"],
        name="web-team",
        attributes={"email": "web@acme.example.com"},
    )
    relationship_declare(actor=developer, source=app_item, target=payments, kind="depends_on")
    relationship_declare(actor=developer, source=app_item, target=orders, kind="depends_on")
    relationship_declare(actor=developer, source=app_item, target=team, kind="owned_by")
