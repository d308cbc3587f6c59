"""allauth adapters: where the portal's account rules plug into allauth."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core import crypto
from apps.core.client_ip import client_ip

from .idp import configuration


def sso_only(email: str) -> bool:
    """Whether the address is in a domain whose people sign in only through the identity provider."""
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and domain in configuration().only_domains


def sso_only_error(email: str) -> ValidationError:
    domain = email.rpartition("@")[2].lower()
    return ValidationError(f"People at {domain} sign in with {configuration().name}, not with a password.")


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up can be closed for self-hosted installations that only invite people; passwords can be
    switched off for the domains whose people sign in only through the identity provider."""

    def is_open_for_signup(self, request) -> bool:
        return getattr(settings, "ACCOUNT_ALLOW_SIGNUP", True)

    def pre_authenticate(self, request, **credentials) -> None:
        email = credentials.get("email") or ""
        if sso_only(email):
            raise sso_only_error(email)
        super().pre_authenticate(request, **credentials)

    def get_client_ip(self, request) -> str:
        """Login rate limits and session records use the portal's one reading of the client's address."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip


# Fields of allauth's authenticator data that MFAAdapter encrypts.
MFA_ENCRYPTED_FIELDS = ("secret", "seed")


def rotate_mfa_secrets() -> int:
    """Re-encrypt the MFA secrets in allauth's authenticator data (rotate_encryption_keys)."""
    from allauth.mfa.models import Authenticator

    changed = 0
    for authenticator in Authenticator.objects.select_for_update():
        data = dict(authenticator.data)
        fields = [name for name in MFA_ENCRYPTED_FIELDS if data.get(name)]
        for name in fields:
            data[name] = crypto.rotate(data[name])
        if fields:
            authenticator.data = data
            authenticator.save(update_fields=["data"])
            changed += 1
    return changed


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are encrypted at rest with the field-encryption keys."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)
