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

from .base import SUCCEEDED, Operation, ProviderError, Step, short_uid

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

    # Every step below is safe to run again: a user is set up with `reset` first (so setting it twice
    # gives the same user), deleting a user or a key that is gone does nothing, and removal also deletes
    # any user of the prefix that an interrupted bind left behind.

    def provision(self, instance) -> str:
        self._call("answer", lambda client: client.ping())
        return prefix_of(instance)

    def deprovision_steps(self, instance) -> list[Step]:
        prefix = prefix_of(instance)

        def forget_keys():
            def forget(client):
                for batch in _batches(client.scan_iter(match=f"{prefix}:*", count=500), 500):
                    client.unlink(*batch)

            self._call("remove the keys", forget)

        def forget_users():
            users = self._call("list its users", lambda client: client.execute_command("ACL", "USERS"))
            for user in users:
                name = user.decode() if isinstance(user, bytes) else str(user)
                if name.startswith(f"{prefix}-"):
                    self._revoke(name)

        return [Step("remove the keys", forget_keys), Step("delete users an interrupted bind left", forget_users)]

    def deprovision(self, instance) -> Operation:
        for step in self.deprovision_steps(instance):
            step.run()
        return SUCCEEDED

    def credential_name(self, binding) -> str:
        return f"{prefix_of(binding.instance)}-{secrets.token_hex(4)}"

    def bind(self, binding) -> dict[str, str]:
        prefix, user = prefix_of(binding.instance), binding.username
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
            with contextlib.suppress(ProviderError):
                self._revoke(user)
            raise
        self._persist()
        return {"url": self.client_url(user, password), "prefix": f"{prefix}:"}

    def unbind(self, binding) -> Operation:
        self._revoke(binding.username)
        return SUCCEEDED

    def _revoke(self, user: str) -> None:
        """Deleting the user also disconnects every client authenticated as it (Redis does this itself)."""
        self._call("revoke the binding's user", lambda client: client.execute_command("ACL", "DELUSER", user))
        self._persist()

    def binding_last_operation(self, binding) -> Operation:
        return Operation("failed", "The binding was interrupted before it finished.")

    def binding_details(self, binding) -> dict[str, str]:
        raise ProviderError("Redis binds at once; there is nothing to fetch.")

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
        return SUCCEEDED

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
