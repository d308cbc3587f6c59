"""Kinds of relationships, where a fact came from, and the life of a discovered item."""

from django.db import models


class RelationKind(models.TextChoices):
    """Every edge reads "source <kind> target": the source relies on the target."""

    DEPENDS_ON = "depends_on", "depends on"
    RUNS_ON = "runs_on", "runs on"
    EXPOSES = "exposes", "exposes"
    OWNED_BY = "owned_by", "owned by"
    PART_OF = "part_of", "part of"
    CONNECTS_TO = "connects_to", "connects to"


class Provenance(models.TextChoices):
    """Declared: a person or the catalog said so. Discovered: listed from a cluster's objects.
    Observed: inferred from what runs (pods scheduled on nodes)."""

    DECLARED = "declared", "Declared"
    DISCOVERED = "discovered", "Discovered"
    OBSERVED = "observed", "Observed"


class Status(models.TextChoices):
    """Active; stale (discovery has not seen it for CMDB_STALE_AFTER minutes); retired (not seen for
    CMDB_RETIRE_AFTER minutes). Declared facts never go stale: nothing is expected to see them."""

    ACTIVE = "active", "Active"
    STALE = "stale", "Stale"
    RETIRED = "retired", "Retired"


class Direction(models.TextChoices):
    """Upstream: what the item relies on (follows edges source -> target). Downstream: what relies on
    the item, directly or through others (target -> source): what is affected when it changes."""

    UPSTREAM = "upstream", "Upstream (what it relies on)"
    DOWNSTREAM = "downstream", "Downstream (what relies on it)"


# Built-in CI types: (slug, name, platform-owned, attribute schema). The data migration creates them.
STRING = {"type": "string"}
BUILTIN_TYPES = [
    ("cluster", "Cluster", True, {"type": "object", "properties": {"api_url": STRING, "version": STRING}}),
    ("node", "Node", True, {"type": "object", "properties": {"cluster": STRING, "zone": STRING}}),
    (
        "namespace",
        "Namespace",
        False,
        {"type": "object", "properties": {"cluster": STRING, "environment": STRING, "kind": STRING}},
    ),
    (
        "application",
        "Application",
        False,
        {
            "type": "object",
            "properties": {"component_kind": STRING, "team": STRING, "repository_url": STRING, "description": STRING},
        },
    ),
    (
        "workload",
        "Workload",
        False,
        {
            "type": "object",
            "properties": {
                "namespace": STRING,
                "environment": STRING,
                "image": STRING,
                "replicas": {"type": "integer", "minimum": 0},
            },
        },
    ),
    ("service", "Service", False, {"type": "object", "properties": {"namespace": STRING, "type": STRING}}),
    (
        "ingress",
        "Ingress",
        False,
        {"type": "object", "properties": {"namespace": STRING, "hosts": {"type": "array", "items": STRING}}},
    ),
    (
        "host",
        "Host name",
        False,
        {"type": "object", "properties": {"host": STRING}},
    ),
    (
        "route",
        "Route",
        False,
        {
            "type": "object",
            "properties": {"host": STRING, "path": STRING, "namespace": STRING, "environment": STRING, "tls": STRING},
        },
    ),
    ("database", "Database", False, {"type": "object", "properties": {"engine": STRING, "version": STRING}}),
    ("cache", "Cache", False, {"type": "object", "properties": {"engine": STRING}}),
    ("queue", "Queue", False, {"type": "object", "properties": {"engine": STRING}}),
    (
        "external-service",
        "External service",
        False,
        {
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri", "pattern": "^https?://"}, "vendor": STRING},
        },
    ),
    ("team", "Team", False, {"type": "object", "properties": {"email": STRING, "chat": STRING}}),
]
PLATFORM_TYPES = {slug for slug, _, platform, _ in BUILTIN_TYPES if platform}


# What the lifecycle watcher last read of a workload, kept beside discovery's facts in the workload's
# item (sync.sync_workload_state); a discovery run keeps them, since it does not read health or drift.
LIFECYCLE_ATTRIBUTES = ("health", "health_reason", "sync", "drift", "live_release")
