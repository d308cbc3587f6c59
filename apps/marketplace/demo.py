"""Demo add-ons for `make run`: the devstack starts a password-only PostgreSQL and a Redis 7 with its
default user off (portal/addon_servers.py) and names them in ADDON_DEMO_POSTGRES_URL and
ADDON_DEMO_REDIS_URL; seed_demo registers them and publishes an offering on each, whose first plan
needs no approval. Local use only."""

from django.conf import settings

from apps.tenants.principals import Principal

from . import services

OFFERINGS = {
    "postgres": (
        "postgresql",
        "PostgreSQL",
        "A database of your own on the platform's shared PostgreSQL; each application gets its own login.",
        [
            ("dev", "Development", {"access": "readwrite", "connections": 5}, False),
            ("reporting", "Read-only reporting", {"access": "readonly", "connections": 5}, False),
            ("production", "Production", {"access": "readwrite", "connections": 50}, True),
        ],
    ),
    "redis": (
        "redis",
        "Redis",
        "A key prefix of your own on the platform's shared Redis 7; memory is shared, not reserved.",
        [
            ("shared", "Shared cache", {"keys": 10000}, False),
            ("large", "Large shared cache", {"keys": 1000000}, True),
        ],
    ),
}


def seed_marketplace(operator: Principal) -> list[str]:
    """Register the demo servers that are running and publish their offerings; returns what was done."""
    done = []
    for kind, url in (("postgres", settings.ADDON_DEMO_POSTGRES_URL), ("redis", settings.ADDON_DEMO_REDIS_URL)):
        if not url:
            continue
        server = services.server_register(operator=operator, name=f"demo-{kind}", kind=kind, admin_url=url)
        slug, name, description, plans = OFFERINGS[kind]
        offering = services.offering_publish(
            operator=operator, slug=slug, name=name, description=description, server=server
        )
        for position, (plan_slug, plan_name, limits, needs_approval) in enumerate(plans):
            services.plan_publish(
                operator=operator,
                offering=offering,
                slug=plan_slug,
                name=plan_name,
                limits=limits,
                needs_approval=needs_approval,
                position=position,
            )
        done.append(f"published the {name} add-on on {server.name}")
    return done
