"""The configuration management database: item types, items, the relationships between them, and
the history of every change to either."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q

from apps.clusters.models import Cluster
from apps.core.policies import RestrictedQuerySet
from apps.tenants.models import SLUG_VALIDATOR, Tenant

from .choices import Provenance, RelationKind, Status


class CIType(models.Model):
    """A kind of configuration item ("database", "queue"), defined by operators.

    `attribute_schema` is a JSON schema that every item's declared attributes must satisfy.
    Platform types (cluster, node) belong to no tenant; tenants cannot declare items of them.
    """

    slug = models.CharField(max_length=40, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    attribute_schema = models.JSONField(default=dict, blank=True)
    is_platform = models.BooleanField(default=False, help_text="Items of this type belong to the platform.")
    is_builtin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "CI type"

    def __str__(self) -> str:
        return self.name


class ConfigurationItem(models.Model):
    """One thing that runs or matters: a workload, a database, a team, a node.

    Tenant-owned, or platform-owned (tenant empty) for clusters, nodes and objects in namespaces no
    tenant owns. `key` names where the item comes from (``declared/<uuid>``, ``catalog/app/<id>``,
    ``env/<namespace>/workload/<name>``) and is unique, so discovery upserts by it. Declared and
    discovered attributes are kept apart: discovery never overwrites what people declared, and the
    difference is shown as a conflict.
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ci_type = models.ForeignKey(CIType, on_delete=models.PROTECT, related_name="items")
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=300, unique=True)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    declared_attributes = models.JSONField(default=dict, blank=True)
    discovered_attributes = models.JSONField(default=dict, blank=True)
    provenance = models.CharField(max_length=16, choices=Provenance.choices, default=Provenance.DECLARED)
    source = models.CharField(
        max_length=100, help_text="Who or what first recorded it: a person, catalog, discovery:<cluster>, import."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    cluster = models.ForeignKey(
        Cluster,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The cluster whose discovery sees it, if any.",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="When discovery last saw it.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["tenant", "ci_type", "name"], name="cmdb_item_tenant_type_name"),
            models.Index(fields=["cluster", "status", "last_seen_at"], name="cmdb_item_cluster_seen"),
            GinIndex(fields=["labels"], name="cmdb_item_labels"),
            GinIndex(fields=["declared_attributes"], name="cmdb_item_declared"),
            GinIndex(fields=["discovered_attributes"], name="cmdb_item_discovered"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ci_type.slug})" if self.ci_type_id else self.name

    @property
    def is_platform(self) -> bool:
        return self.tenant_id is None

    @property
    def attributes(self) -> dict:
        """What the item is believed to be: discovered facts, with declared facts taking precedence."""
        return {**self.discovered_attributes, **self.declared_attributes}

    @property
    def conflicts(self) -> list[dict]:
        """Attributes declared and discovered with different values, for people to settle."""
        return [
            {
                "attribute": name,
                "declared": self.declared_attributes[name],
                "discovered": self.discovered_attributes[name],
            }
            for name in sorted(self.declared_attributes.keys() & self.discovered_attributes.keys())
            if self.declared_attributes[name] != self.discovered_attributes[name]
        ]


class Relationship(models.Model):
    """An edge "source <kind> target" with where it came from and when it was last seen.

    The same edge may be both declared and discovered: one row per provenance, so neither overwrites
    the other. Invariants (the database holds the first two): an item never relates to itself; an
    edge's endpoints belong to the same tenant or to the platform, never to two tenants; `tenant` is
    the tenant of its tenant-owned endpoint, empty when both are platform items.
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="incoming")
    kind = models.CharField(max_length=16, choices=RelationKind.choices)
    provenance = models.CharField(max_length=16, choices=Provenance.choices, default=Provenance.DECLARED)
    origin = models.CharField(max_length=100, help_text="Who or what recorded it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    note = models.CharField(max_length=300, blank=True)
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind", "provenance"], name="cmdb_edge_unique"),
            models.CheckConstraint(condition=~Q(source=F("target")), name="cmdb_edge_not_self"),
        ]
        indexes = [
            # Impact analysis walks edges both ways; the includes let it read only the index.
            models.Index(fields=["source", "target"], include=["tenant", "status"], name="cmdb_edge_forward"),
            models.Index(fields=["target", "source"], include=["tenant", "status"], name="cmdb_edge_backward"),
            models.Index(fields=["cluster", "status", "last_seen_at"], name="cmdb_edge_cluster_seen"),
            models.Index(fields=["tenant", "id"], name="cmdb_edge_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id} ({self.provenance})"


class ChangeRecord(models.Model):
    """One change to an item or a relationship: who or which source, and the values before and after.

    Kept when the item goes (no foreign-key constraints), so an item's history outlives it.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        STALE = "stale", "Went stale"
        RETIRE = "retire", "Retired"

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    item = models.ForeignKey(
        ConfigurationItem,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="history",
    )
    relationship_id = models.BigIntegerField(null=True, blank=True)
    other_item_id = models.BigIntegerField(
        null=True, blank=True, help_text="An edge's target, so the change shows in both items' history."
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    source = models.CharField(max_length=200, help_text="The person (email) or the source: catalog, discovery:x.")
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["item", "-id"], name="cmdb_history_item"),
            models.Index(fields=["other_item_id", "-id"], name="cmdb_history_other"),
            models.Index(fields=["tenant", "-id"], name="cmdb_history_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.summary}"


class SavedFilter(models.Model):
    """A named CMDB search of a tenant ("prod databases"), shared with its members."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    query = models.JSONField(
        default=dict, blank=True, help_text="Search parameters: q, type, provenance, status, label, attribute."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="cmdb_filter_unique_name")]

    def __str__(self) -> str:
        return self.name


class DiscoveryRun(models.Model):
    """One discovery pass over a cluster: when, how much it saw and changed, and why it failed if it did."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"discovery of {self.cluster_id} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class ImportJob(models.Model):
    """A CMDB import too large to answer while the request waits, run by a Celery worker.

    The upload is kept as bytes (`content`, emptied when the job ends) and parsed by the worker, so
    what was accepted is exactly what runs. `processed` moves while the job runs (written on a
    connection of its own, outside the import's transaction); `summary` and `errors` are the report
    once it ends. A job runs all-or-nothing like any import: terminal states never change again.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    TERMINAL = (State.SUCCEEDED, State.FAILED)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(
        "apikeys.APIKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The key the import came through; the job acts with its scopes.",
    )
    file_format = models.CharField(max_length=8, choices=[("csv", "CSV"), ("json", "JSON")])
    content = models.BinaryField(default=bytes, editable=False)
    dry_run = models.BooleanField(default=False)
    skip_invalid = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Rows in the upload.")
    processed = models.PositiveIntegerField(default=0, help_text="Rows applied so far.")
    applied = models.BooleanField(default=False, help_text="Whether the rows were kept.")
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="The report's invalid rows.")
    detail = models.TextField(blank=True, help_text="Why the job failed, or what it did.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "-id"], name="cmdb_import_tenant")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL

    @property
    def percent(self) -> int:
        return 100 if self.is_terminal or not self.total else min(99, self.processed * 100 // self.total)
