"""The cast of most tests: two tenants with one member per role, an operator, and key helpers.

`acme` is home; `globex` is the other tenant whose members are outsiders to acme.
"""

import copy
import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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


# --- The world of a test, replayed rather than rebuilt ---------------------------------------------

# Building the world goes through the services (tenant_create, the CMDB sync, the audit trail): about a
# hundred queries, for rows that come out the same in nearly every test. So a process remembers the rows
# a build added, keyed by a fingerprint of every table the build read or wrote (and every table those
# point to) and of the settings, and a later test with the same fingerprint gets the same rows again with
# COPY and its own copy of the Python objects. Where the fingerprint differs (a fixture made a user or a
# cluster first, a transactional test's flush renumbered the built-in rows, a test changed a setting)
# the world is built for real.
# A remembered build is used only while it is a minute old at most and the clock has not been moved,
# so the rows' timestamps read as they would from a fresh build.
REPLAY_MAX_AGE = 60.0
_TABLE_OF_QUERY = re.compile(r'(?:FROM|JOIN|INTO|UPDATE) "([a-z0-9_]+)"')


@dataclass
class _Build:
    world: World
    rows: list[tuple[str, bytes]]
    wall: datetime
    monotonic: float

    def fresh(self) -> bool:
        age = time.monotonic() - self.monotonic
        drift = abs((timezone.now() - self.wall).total_seconds() - age)  # a moved clock (time_machine)
        return age < REPLAY_MAX_AGE and drift < 2


_tables: set[str] = set()  # what builds have touched, and what those rows point to
_seen: Counter = Counter()  # fingerprint -> builds for real with it
_builds: dict[str, _Build] = {}  # fingerprint -> a build to replay


def world_for_test() -> World:
    """The world for one test: replayed when a build from the same database state is remembered."""
    fingerprint = f"{_settings_digest()};{_fingerprint()}" if _tables else ""
    remembered = _builds.get(fingerprint)
    if remembered is not None and remembered.fresh():
        return _replay(remembered)
    _seen[fingerprint] += 1
    # A state seen once may be one test's own; the second time it is worth remembering.
    return _build(fingerprint, remember=bool(fingerprint) and _seen[fingerprint] > 1)


def _build(fingerprint: str, *, remember: bool) -> World:
    before = _rows_of(_tables) if remember else {}
    wall, started = timezone.now(), time.monotonic()
    callbacks = len(connection.run_on_commit)
    with CaptureQueriesContext(connection) as queries:
        world = build_world()
    touched = {table for query in queries.captured_queries for table in _TABLE_OF_QUERY.findall(query["sql"])}
    if not touched <= _tables:
        _tables.update(touched, *map(_pointed_to, touched))
        _builds.clear()  # fingerprints over fewer tables could match states that differ
        _seen.clear()
        return world
    # Inside a transaction the build's on-commit callbacks show; a build that queued any is not replayed.
    if remember and connection.in_atomic_block and len(connection.run_on_commit) == callbacks:
        rows = _added_rows(before, _rows_of(_tables))
        if rows is not None:
            _builds[fingerprint] = _Build(copy.deepcopy(world), rows, wall, started)
    return world


def _replay(build: _Build) -> World:
    quote = connection.ops.quote_name
    # One transaction, so the foreign keys are checked once every row is back (a transactional test too).
    with transaction.atomic(), connection.cursor() as cursor:
        for table, data in build.rows:
            with cursor.copy(f"COPY {quote(table)} FROM STDIN") as rows:
                rows.write(data)
    return copy.deepcopy(build.world)


def _fingerprint() -> str:
    """Row count and a hash of the rows of every table a build depends on, in one query."""
    quote = connection.ops.quote_name
    parts = [
        f"(SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) FROM {quote(table)} t)"
        for table in sorted(_tables)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT concat_ws(',', {', '.join(parts)})")
        return cursor.fetchone()[0]


def _settings_digest() -> str:
    values = repr([(name, getattr(settings, name)) for name in sorted(dir(settings)) if name.isupper()])
    return hashlib.sha256(values.encode()).hexdigest()[:16]


def _pointed_to(table: str) -> set[str]:
    """The tables the rows of `table` refer to: a replayed row must point at the same rows."""
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return {f.related_model._meta.db_table for f in model._meta.concrete_fields if f.is_relation}
    return set()


def _rows_of(tables: set[str]) -> dict[str, Counter]:
    """The rows of `tables` as COPY writes them. A build that is remembered wrote to no other table."""
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            with cursor.copy(f"COPY {quote(table)} TO STDOUT") as copied:
                data = b"".join(bytes(block) for block in copied)
            rows[table] = Counter(data.splitlines(keepends=True))
    return rows


def _added_rows(before: dict[str, Counter], after: dict[str, Counter]) -> list[tuple[str, bytes]] | None:
    """The rows a build added, table by table; None when it also changed or removed one (not replayable)."""
    added = []
    for table, rows in after.items():
        if before.get(table, Counter()) - rows:
            return None
        new = rows - before.get(table, Counter())
        if new:
            added.append((table, b"".join(new.elements())))
    return added
