"""Who asked for what: each request's authorization attributes, as the API server's authorizer sees them.

A real API server turns every request into (verb, API group, resource, subresource, namespace) before
RBAC judges it; the sandbox grants everything, but it records the same attributes, counted by the
client's user agent, so a test can compare what a client really calls with the RBAC rules it is
given. Discovery (`/api/v1`, `/apis/<group>/<version>`) is a non-resource URL, which every
authenticated identity may read on a real cluster (the system:discovery role); it is counted under its
path.

A server-side apply that creates its object is authorized twice on a real cluster, as `patch` and then
as `create` (the Kubernetes documentation on server-side apply, "RBAC and permissions"); so it is
recorded twice here.

With `SANDBOX_ACCESS_LOG` set to a file, every server appends what it recorded to it, one JSON line per
attribute set, when it stops: how a test collects the calls of other test runs.
"""

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from .kinds import BY_PATH

ENV = "SANDBOX_ACCESS_LOG"


@dataclass(frozen=True)
class Access:
    agent: str  # the user agent's product, `paas-portal` in `paas-portal/1.0 (...)`
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection
    group: str  # "" for core
    resource: str  # plural
    subresource: str = ""
    namespaced: bool = False  # inside one namespace, as opposed to cluster-wide or across all namespaces
    non_resource: str = ""  # the path, for discovery and the like (then verb is `get` and resource "")


def agent_of(user_agent: str) -> str:
    return (user_agent or "").split(" ", 1)[0].split("/", 1)[0]


def attributes(method: str, path: str, query, user_agent: str) -> Access:
    """The request's attributes, as the API server's request-info resolver derives them."""
    parts = [part for part in path.split("/") if part]
    agent = agent_of(user_agent)
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Access(agent, method.lower(), "", "", non_resource=path)
    watching = rest[0] == "watch"
    if watching:
        rest = rest[1:]
    namespaced = False
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespaced, rest = True, rest[2:]
    resource = rest[0] if rest else ""
    named = len(rest) > 1
    subresource = rest[2] if len(rest) > 2 else ""
    method = method.upper()
    if method == "GET" and (watching or query.get("watch") in ("1", "true", "True")):
        verb = "watch"
    elif method == "GET":
        verb = "get" if named else "list"
    elif method == "DELETE":
        verb = "delete" if named else "deletecollection"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
    return Access(agent, verb, group, resource, subresource, namespaced)


def applied_object(path: str) -> tuple[tuple[str, str, str], str, str] | None:
    """For a server-side apply path: ((group, version, plural), namespace, name), else None."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) == 4 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if len(rest) != 2:
        return None
    return (group, version, rest[0]), namespace, rest[1]


class AccessLog:
    """The distinct request attributes seen so far, each with how often."""

    def __init__(self):
        self.counts: Counter[Access] = Counter()

    def record(self, access: Access) -> None:
        self.counts[access] += 1

    def entries(self) -> list[dict]:
        return [{**asdict(access), "count": n} for access, n in sorted(self.counts.items(), key=lambda kv: str(kv[0]))]

    def append_to(self, path) -> None:
        """Append every entry as a JSON line (one write per line, in append mode: servers in several
        processes may share the file)."""
        if not self.counts:
            return
        with Path(path).open("a") as handle:
            for entry in self.entries():
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
                handle.flush()


def log_file_from_environment() -> str | None:
    return os.environ.get(ENV) or None
