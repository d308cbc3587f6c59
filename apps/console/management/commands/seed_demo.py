"""Load demo data for local runs. Safe to run again: it only creates what is missing."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand

from apps.console.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Create the demo operator and developer accounts (idempotent)."

    def handle(self, *args, **options):
        Site.objects.update_or_create(
            id=settings.SITE_ID, defaults={"domain": "127.0.0.1:8000", "name": settings.SITE_NAME}
        )
        User = get_user_model()
        for spec in DEMO_USERS:
            fields = {key: value for key, value in spec.items() if key != "purpose"}
            user, created = User.objects.get_or_create(email=spec["email"], defaults=fields)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
            self.stdout.write(f"{'created' if created else 'kept'} {user.email}")
