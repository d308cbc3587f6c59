"""Demo accounts created by `manage.py seed_demo` and printed by `make run`. Local use only."""

DEMO_PASSWORD = "portal-demo-pass"
DEMO_USERS = [
    {"email": "operator@example.com", "full_name": "Olivia Operator", "is_staff": True, "is_superuser": True,
     "purpose": "operator console and admin"},
    {"email": "developer@example.com", "full_name": "Dev Eloper", "is_staff": False, "is_superuser": False,
     "purpose": "tenant portal"},
]
