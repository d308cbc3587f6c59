"""Reads of accounts that pages share."""

from allauth.account.models import EmailAddress


def unverified_address(email: str) -> EmailAddress | None:
    """The address someone signed up with and has not verified yet, with its user (any letter case)."""
    return EmailAddress.objects.filter(email__iexact=email, verified=False).select_related("user").first()
