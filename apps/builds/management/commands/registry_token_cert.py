"""Print what the image registry needs to trust the portal's tokens (its `auth.token` settings).

    manage.py registry_token_cert > /etc/docker/registry/portal-token.pem   # the rootcertbundle
    manage.py registry_token_cert --json     # realm, service, issuer and the certificate, for tools

The signing key is made on first use (REGISTRY_TOKEN_KEY_FILE, encrypted); the certificate is public.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.builds.tokens import certificate_bundle


class Command(BaseCommand):
    help = "Print the certificate the registry's auth.token rootcertbundle must hold (or, with --json, every setting)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="realm, service, issuer and certificates as JSON")

    def handle(self, *args, **options):
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "realm": settings.REGISTRY_TOKEN_REALM,
                        "service": settings.REGISTRY_TOKEN_SERVICE,
                        "issuer": settings.REGISTRY_TOKEN_ISSUER,
                        "certificates": certificate_bundle(),
                    }
                )
            )
        else:
            self.stdout.write(certificate_bundle(), ending="")
