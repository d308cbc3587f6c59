"""The app catalog: what tenants run, and the platform's offerings they start from."""

from django.conf import settings
from django.db import models

from apps.tenants.models import SLUG_VALIDATOR, TenantOwned


class ComponentKind(models.TextChoices):
    WEB = "web", "Web service"
    WORKER = "worker", "Worker"
    CRON = "cron", "Cron job"


class ServiceTemplate(models.Model):
    """A versioned platform offering ("web service", "redis cache") defined by operators.

    `parameter_schema` is a JSON schema for the form a tenant fills in; a new version is a new row,
    so an application always knows exactly which version it was made from.
    """

    slug = models.CharField(max_length=40, validators=[SLUG_VALIDATOR])
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    component_kind = models.CharField(max_length=16, choices=ComponentKind.choices)
    parameter_schema = models.JSONField(default=dict, blank=True)
    defaults = models.JSONField(default=dict, blank=True, help_text="Release fields a new app starts with.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["slug", "version"], name="template_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Application(TenantOwned):
    """Something a tenant runs: a web service, a worker or a cron job, deployed as releases."""

    name = models.CharField(max_length=40, validators=[SLUG_VALIDATOR])
    description = models.TextField(blank=True)
    component_kind = models.CharField(max_length=16, choices=ComponentKind.choices, default=ComponentKind.WEB)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.CharField(max_length=100, blank=True)
    repository_url = models.URLField(max_length=300, blank=True)
    template = models.ForeignKey(
        ServiceTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    template_parameters = models.JSONField(default=dict, blank=True)
    keep_image_tags = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How many of the newest tags the platform registry keeps (empty: the operators' default).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="application_unique_name")]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"


class ReleaseImmutableError(Exception):
    """Raised when code tries to change a release: changes make a new release."""


class Release(TenantOwned):
    """One immutable, numbered description of how to run an application.

    Everything that decides what runs lives here; changing anything makes release N+1, and rolling
    back is deploying an earlier release. CPU and memory use Kubernetes quantities ("250m", "256Mi").
    """

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="releases")
    number = models.PositiveIntegerField()
    image = models.CharField(max_length=300)
    image_digest = models.CharField(max_length=100, blank=True)
    env = models.JSONField(default=dict, blank=True, help_text="Plain environment variables.")
    secret_refs = models.JSONField(
        default=list, blank=True, help_text='[{"name": "DB_PASSWORD", "secret": "db", "key": "password"}]'
    )
    command = models.JSONField(default=list, blank=True)
    args = models.JSONField(default=list, blank=True)
    ports = models.JSONField(default=list, blank=True, help_text='[{"name": "http", "port": 8080}]')
    replicas = models.PositiveIntegerField(default=1)
    cpu_request = models.CharField(max_length=20, default="100m")
    cpu_limit = models.CharField(max_length=20, blank=True)
    memory_request = models.CharField(max_length=20, default="128Mi")
    memory_limit = models.CharField(max_length=20, blank=True)
    liveness_probe = models.JSONField(default=dict, blank=True)
    readiness_probe = models.JSONField(default=dict, blank=True)
    ingress_host = models.CharField(max_length=253, blank=True)
    ingress_path = models.CharField(max_length=200, blank=True, default="/")
    autoscale_min = models.PositiveIntegerField(null=True, blank=True)
    autoscale_max = models.PositiveIntegerField(null=True, blank=True)
    autoscale_cpu_target = models.PositiveIntegerField(null=True, blank=True, help_text="Percent of CPU request.")
    schedule = models.CharField(max_length=100, blank=True, help_text="Cron schedule, for cron jobs.")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application", "-number"]
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="release_unique_number")]

    def __str__(self) -> str:
        return f"{self.application.name} #{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ReleaseImmutableError("Releases are immutable; create a new release instead.")
        super().save(*args, **kwargs)


class ImageRule(models.Model):
    """One entry of the operators' image allow-list: a registry (`ghcr.io`), a path and everything under
    it (`ghcr.io/acme/*`), or one repository (`docker.io/library/nginx`), stored in full and lower case.
    The entries of IMAGE_ALLOWLIST count besides these; with neither, any registry is allowed."""

    pattern = models.CharField(max_length=300, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pattern"]

    def __str__(self) -> str:
        return self.pattern
