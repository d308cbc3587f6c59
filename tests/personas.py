"""The cast of most tests: two tenants with one member per role, an operator, and key helpers.

`acme` is home; `globex` is the other tenant whose members are outsiders to acme.
"""

from dataclasses import dataclass, field

from apps.apikeys.services import apikey_create
from apps.tenants.models import Membership, Tenant
from apps.tenants.principals import Principal, as_principal
from apps.tenants.roles import Role, scopes_for_role
from apps.tenants.services import tenant_create
from tests.factories import UserFactory

ROLES = [Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.VIEWER]


@dataclass
class World:
    acme: Tenant
    globex: Tenant
    users: dict = field(default_factory=dict)  # "acme.owner" -> User
    operator: object = None

    def user(self, role: str, tenant: str = "acme"):
        return self.users[f"{tenant}.{role}"]

    def principal(self, role: str, tenant: str = "acme") -> Principal:
        """The member with this role as services take them: signed in, not through a key."""
        return Principal(self.user(role, tenant))

    @property
    def operator_principal(self) -> Principal:
        return Principal(self.operator)

    @property
    def outsider(self):
        """A member of globex only: acme's rows do not exist for them."""
        return self.users["globex.owner"]

    def key(self, role: str = Role.OWNER, tenant: str = "acme", scopes=None, **kwargs) -> str:
        """A fresh API key for the member with this role; all scopes the role allows by default."""
        api_key, plaintext = apikey_create(
            actor=self.principal(role, tenant),
            tenant=getattr(self, tenant),
            name=f"{role} key",
            scopes=scopes if scopes is not None else scopes_for_role(role),
            **kwargs,
        )
        return plaintext


def build_world() -> World:
    world = World(acme=None, globex=None)
    for slug in ("acme", "globex"):
        owner = UserFactory(email=f"owner@{slug}.test")
        world.users[f"{slug}.owner"] = owner
        tenant = tenant_create(actor=as_principal(owner), slug=slug, name=slug.title())
        setattr(world, slug, tenant)
        for role in ROLES[1:]:
            user = UserFactory(email=f"{role}@{slug}.test")
            Membership.objects.create(tenant=tenant, user=user, role=role)
            world.users[f"{slug}.{role}"] = user
    world.operator = UserFactory(email="operator@platform.test", is_staff=True)
    return world
