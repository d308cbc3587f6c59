"""Demo data created by `manage.py seed_demo` and printed by `make run`. Local use only."""

DEMO_PASSWORD = "portal-demo-pass"
DEMO_USERS = [
    {
        "email": "operator@example.com",
        "full_name": "Olivia Operator",
        "is_staff": True,
        "is_superuser": True,
        "purpose": "operator console and admin",
    },
]
DEMO_TENANTS = {"acme": "Acme Corporation", "globex": "Globex"}
DEMO_ROLES = ["owner", "admin", "developer", "viewer"]
for _slug in DEMO_TENANTS:
    for _role in DEMO_ROLES:
        DEMO_USERS.append(
            {
                "email": f"{_role}@{_slug}.example.com",
                "full_name": f"{_role.title()} of {_slug.title()}",
                "is_staff": False,
                "is_superuser": False,
                "purpose": f"{_role} in {_slug}",
                "tenant": _slug,
                "role": _role,
            }
        )
DEMO_QUOTAS = {"cpu": 8000, "memory": 16384, "pods": 50, "applications": 20, "api_keys": 25}
