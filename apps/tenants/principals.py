"""Who is asking: a signed-in user, or a user acting through one of their API keys.

A principal knows its role in each tenant. Through an API key it sees only the key's tenant, and
every action must also be covered by one of the key's scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .roles import READ, WRITE, at_least


@dataclass
class Principal:
    user: Any  # a User (or AnonymousUser)
    api_key: Any = None  # an APIKey when acting through one
    _roles: dict[int, str] | None = field(default=None, repr=False)
    _memberships: list | None = field(default=None, repr=False)
    # The Django request of a person acting over HTTP by session (not through a key): its session is
    # what a step-up check reads (apps/tenants/stepup.py). None in-process: tasks, commands, tests.
    http_request: Any = field(default=None, repr=False, compare=False)

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user and self.user.is_authenticated)

    @property
    def roles(self) -> dict[int, str]:
        """tenant id -> role, for active memberships; through a key, only the key's tenant."""
        if self._roles is None:
            from .models import Membership

            if not self.is_authenticated:
                self._roles = {}
            elif hasattr(self.api_key, "member_role"):  # key authentication already looked the role up
                role = self.api_key.member_role
                self._roles = {self.api_key.tenant_id: role} if role else {}
            elif self.api_key is None:  # in person: the same rows as the header's tenant switcher
                self._roles = {m.tenant_id: m.role for m in self.memberships}
            else:
                memberships = Membership.objects.filter(user_id=self.user.pk, tenant_id=self.api_key.tenant_id)
                self._roles = dict(memberships.values_list("tenant_id", "role"))
        return self._roles

    @property
    def memberships(self) -> list:
        """A person's memberships with their tenants, by tenant name: what their roles are read from,
        and the header's tenant switcher, so a page reads them once (for this request only)."""
        if self._memberships is None:
            from .selectors import memberships_of

            self._memberships = list(memberships_of(self.user)) if self.is_authenticated else []
        return self._memberships

    @property
    def is_operator(self) -> bool:
        """A platform operator (staff) acting in person: keys belong to one tenant and never act for the platform."""
        return self.is_authenticated and self.api_key is None and bool(self.user.is_staff)

    def role_in(self, tenant_id: int | None) -> str | None:
        return self.roles.get(tenant_id) if tenant_id is not None else None

    def tenant_ids(self, minimum_role: str) -> list[int]:
        return [tenant_id for tenant_id, role in self.roles.items() if at_least(role, minimum_role)]

    def has_scope(self, resource: str, verb: str) -> bool:
        """Session users are limited by role alone; keys also by their scopes (write implies read)."""
        if self.api_key is None:
            return True
        scopes = set(self.api_key.scopes)
        return f"{resource}:{verb}" in scopes or (verb == READ and f"{resource}:{WRITE}" in scopes)


def as_principal(subject) -> Principal:
    """Accept a Principal, a user, or a DRF/Django request and return a Principal.

    Views call this once at their boundary and pass the result to services, whose `actor` is typed
    `Principal`. A Principal comes back unchanged and a request keeps its own, so the roles are looked
    up once per request however often policies ask; services that still normalise their actor with it
    keep accepting a bare user from tests, commands and the approvals executor.
    """
    if isinstance(subject, Principal):
        return subject
    if hasattr(subject, "user") and hasattr(subject, "META"):  # a request
        cached = getattr(subject, "_principal", None)
        if cached is None:
            auth = getattr(subject, "auth", None)
            key = auth if getattr(auth, "is_api_key", False) else None
            session = getattr(subject, "_request", subject) if key is None else None  # under DRF, Django's own
            cached = Principal(subject.user, key, http_request=session)
            subject._principal = cached
        return cached
    return Principal(subject)
