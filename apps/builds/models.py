"""Builds of an application's image, and the numbered lines of each build's log."""

from django.conf import settings
from django.db import models

from apps.catalog.models import Application, Release
from apps.core import crypto
from apps.tenants.models import TenantOwned


class State(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PUSHING = "pushing", "Pushing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (State.QUEUED, State.RUNNING, State.PUSHING)
TERMINAL = (State.SUCCEEDED, State.FAILED, State.CANCELLED)


class Build(TenantOwned):
    """One build of an application's image: `queued -> running -> pushing -> succeeded | failed |
    cancelled`. The source is an uploaded context (kept in BuildContext until the build ends) or a Git
    repository at a ref. `image` is the registry repository and `digest` the pushed manifest's digest as
    the registry reports it; `release` is the release cut from it, when asked for. Terminal rows never
    change state again; `last_seq` is the seq of the newest log line (1, 2, 3 ... without gaps)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="builds")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    repository_url = models.CharField(max_length=300, blank=True)
    ref = models.CharField(max_length=200, blank=True)
    dockerfile = models.CharField(max_length=200, default="Dockerfile")
    build_args = models.JSONField(default=dict, blank=True)
    target = models.CharField(max_length=100, blank=True)
    tag = models.CharField(max_length=128)
    image = models.CharField(max_length=300, blank=True, help_text="The registry repository the image goes to.")
    digest = models.CharField(max_length=100, blank=True)
    create_release = models.BooleanField(default=False)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="builds")
    outcome = models.TextField(blank=True, help_text="How it ended, in words: set with the terminal state.")
    cancel_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Stamped every few seconds by the worker running the build."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "state"], name="build_tenant_state")]

    def __str__(self) -> str:
        return f"{self.application.name} build {self.pk} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def duration(self):
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def pinned_image(self) -> str:
        return f"{self.image}@{self.digest}" if self.digest else ""


class BuildContext(models.Model):
    """An uploaded build context (a .tar.gz), held only until its build ends."""

    build = models.OneToOneField(Build, on_delete=models.CASCADE, related_name="context")
    data = models.BinaryField()


class BuildLogLine(models.Model):
    """One line of a build's log. Written only by the build services under a lock on the build row, so
    `seq` counts 1, 2, 3 ... per build; `stream` says whether it is the engine's output, a step of the
    portal's own, or an error."""

    class Stream(models.TextChoices):
        OUTPUT = "output", "Output"
        STEP = "step", "Step"
        ERROR = "error", "Error"

    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    stream = models.CharField(max_length=8, choices=Stream.choices, default=Stream.OUTPUT)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["build", "seq"]
        constraints = [models.UniqueConstraint(fields=["build", "seq"], name="build_log_unique_seq")]

    def __str__(self) -> str:
        return f"{self.build_id}#{self.seq} {self.text[:40]}"


class RegistryCredential(TenantOwned):
    """The tenant's pull credential for the platform registry: what its namespaces' image pull Secret
    holds, so the cluster pulls the tenant's own repositories (`<tenant>/*`) and nothing else. The
    password is kept encrypted, since the portal writes it into every namespace it deploys to."""

    username = models.CharField(max_length=80, unique=True)
    password_encrypted = crypto.EncryptedTextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.username

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = crypto.encrypt(value)
