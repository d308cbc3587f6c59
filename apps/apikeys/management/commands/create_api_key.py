"""Create an API key for a member of a tenant and print it once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.apikeys.services import DEFAULT_EXPIRY_DAYS, apikey_create
from apps.core.errors import ApplicationError
from apps.tenants.models import Tenant
from apps.tenants.principals import as_principal
from apps.tenants.roles import scopes_for_role


def _scopes(value: str, user, tenant: Tenant) -> list[str]:
    """The listed scopes; `all` means what the user's role allows, so scripts and CI need not list them.
    A non-member gets none and apikey_create refuses them as it would anyone."""
    if value.strip() == "all":
        role = as_principal(user).role_in(tenant.pk)
        return scopes_for_role(role) if role else []
    return [scope.strip() for scope in value.split(",") if scope.strip()]


class Command(BaseCommand):
    help = "Create an API key for USER in TENANT; the key is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--user", required=True, help="the member's email address")
        parser.add_argument(
            "--scopes",
            required=True,
            help="comma-separated, e.g. apps:read,deployments:write; or `all`: every scope the "
            "user's role in the tenant allows",
        )
        parser.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRY_DAYS)
        parser.add_argument("--name", default="command line")
        parser.add_argument("--allowed-ips", default="", help="comma-separated addresses or CIDR ranges")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        user = get_user_model().objects.filter(email__iexact=options["user"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        if user is None:
            raise CommandError(f"No user with email {options['user']!r}.")
        try:
            api_key, plaintext = apikey_create(
                actor=as_principal(user),
                tenant=tenant,
                name=options["name"],
                scopes=_scopes(options["scopes"], user, tenant),
                expires_in_days=options["expires_days"],
                allowed_ips=[ip for ip in options["allowed_ips"].split(",") if ip.strip()],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Created {api_key.name} for {user.email} in {tenant.slug}, "
            f"expires {api_key.expires_at:%Y-%m-%d}. It is shown only now:"
        )
        self.stdout.write(plaintext)
