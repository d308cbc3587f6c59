"""Redis on a shared server (Redis 7 or later, its `default` user disabled): an instance is a key prefix,
a binding is an ACL user confined to it.

Each binding's user may touch only `<prefix>:*` keys and `<prefix>:*` channels, and is denied the
commands that reach past its prefix or the server (KEYS, SCAN, RANDOMKEY, FLUSHALL, FLUSHDB, CONFIG,
DEBUG, MODULE, ACL and the rest of @dangerous and @admin). Redis has no per-user memory limit, so a
shared plan's limits are stated, not enforced by the server; plans that need hard isolation run
in-cluster.
"""

from __future__ import annotations

import contextlib
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import redis

from .base import Operation, ProviderError, short_uid

MINIMUM_VERSION = (7, 0)
TIMEOUT = 5
DENIED = [
    "-@dangerous",
    "-@admin",
    "-keys",
    "-scan",
    "-randomkey",
    "-flushall",
    "-flushdb",
    "-config",
    "-debug",
    "-module",
    "-acl",
    "-select",
    "-swapdb",
    "-migrate",
]


def prefix_of(instance) -> str:
    return f"addon-{short_uid(instance)}"


def _say(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__


class RedisProvider:
    """Key prefixes and ACL users on one shared Redis, reached with the operator's admin URL."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.admin_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)

    def _call(self, what: str, operation):
        try:
            with self._client() as client:
                return operation(client)
        except redis.RedisError as exc:
            raise ProviderError(f"Redis refused to {what}: {_say(exc)}") from None

    def client_url(self, user: str, password: str) -> str:
        parts = urlsplit(self.admin_url)
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname or 'localhost'}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme or "redis", netloc, parts.path or "/0", "", ""))

    def provision(self, instance) -> str:
        self._call("answer", lambda client: client.ping())
        return prefix_of(instance)

    def deprovision(self, instance) -> None:
        prefix = prefix_of(instance)

        def forget(client):
            for batch in _batches(client.scan_iter(match=f"{prefix}:*", count=500), 500):
                client.unlink(*batch)

        self._call("remove the keys", forget)

    def bind(self, binding) -> tuple[str, dict[str, str]]:
        prefix = prefix_of(binding.instance)
        user = f"{prefix}-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(24)
        rules = [
            "reset",
            "on",
            f">{password}",
            "resetkeys",
            f"~{prefix}:*",
            "resetchannels",
            f"&{prefix}:*",
            "+@all",
            *DENIED,
        ]
        try:
            self._call(
                "create the binding's user", lambda client: client.execute_command("ACL", "SETUSER", user, *rules)
            )
        except ProviderError:
            self._revoke(user)
            raise
        return user, {"url": self.client_url(user, password), "prefix": f"{prefix}:"}

    def unbind(self, binding) -> None:
        self._revoke(binding.username)

    def _revoke(self, user: str) -> None:
        """Deleting the user also disconnects every client authenticated as it (Redis does this itself)."""
        self._call("revoke the binding's user", lambda client: client.execute_command("ACL", "DELUSER", user))
        self._persist()

    def _persist(self) -> None:
        """A server with an ACL file keeps its users there (ACL SAVE); one configured without has none to save."""
        with contextlib.suppress(ProviderError):
            self._call("save its users", lambda client: client.execute_command("ACL", "SAVE"))

    def usage(self, instance) -> dict:
        """How many keys the instance's prefix holds now (SCAN as the admin, never KEYS)."""
        prefix = prefix_of(instance)
        count = self._call(
            "count the keys", lambda client: sum(1 for _ in client.scan_iter(match=f"{prefix}:*", count=1000))
        )
        return {"keys": count}

    def limit_writes(self, usernames: list[str], *, blocked: bool) -> None:
        """Over its plan's key limit a binding may read and delete, not write; under it again, as before."""
        rules = ["-@write", "+del", "+unlink", "+expire"] if blocked else ["+@write", *DENIED]

        def apply(client):
            for user in usernames:
                client.execute_command("ACL", "SETUSER", user, *rules)

        self._call("change the bindings' rights", apply)
        self._persist()

    def last_operation(self, instance) -> Operation:
        return Operation("succeeded")

    def check(self) -> str:
        """Connect as the admin; refuse a Redis older than 7 or one whose `default` user is on."""
        info = self._call("answer", lambda client: client.info("server"))
        version = str(info.get("redis_version", "0"))
        if tuple(int(part) for part in version.split(".")[:2]) < MINIMUM_VERSION:
            raise ProviderError(f"Redis {version} is too old: add-ons need Redis 7 or later (ACL selectors).")
        default = self._call("describe its users", lambda client: client.execute_command("ACL", "GETUSER", "default"))
        flags = default.get(b"flags") or default.get("flags") or [] if isinstance(default, dict) else []
        if b"on" in flags or "on" in flags:
            raise ProviderError("Disable the `default` user first: every binding must authenticate as its own user.")
        return f"Redis {version}"


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
