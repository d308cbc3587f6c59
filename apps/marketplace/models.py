"""Capability services (add-ons), in the Open Service Broker's nouns.

Operators register shared servers and publish service offerings with plans; tenants provision
service instances of a plan into an environment and bind them to applications. A binding is its own
credential at the provider, stored encrypted here and revoked at the provider on unbind.
"""

import json
import uuid

from django.conf import settings
from django.db import models

from apps.catalog.models import Application
from apps.core import crypto
from apps.tenants.models import SLUG_VALIDATOR, Environment, TenantOwned


class ProviderKind(models.TextChoices):
    POSTGRES = "postgres", "PostgreSQL"
    REDIS = "redis", "Redis"
    OSB = "osb", "Open Service Broker"
    INCLUSTER = "incluster", "In-cluster"


class SharedServer(models.Model):
    """A database or cache server an operator lends to tenants; never the portal's own. The admin URL
    (with its password) is encrypted at rest and never shown again."""

    name = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    admin_url_encrypted = crypto.EncryptedTextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def admin_url(self) -> str:
        return crypto.decrypt(self.admin_url_encrypted)

    @admin_url.setter
    def admin_url(self, value: str) -> None:
        self.admin_url_encrypted = crypto.encrypt(value)


class ServiceOffering(models.Model):
    """A kind of add-on the platform provides ("PostgreSQL", "Redis"), backed by one provider on one server."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    server = models.ForeignKey(SharedServer, on_delete=models.PROTECT, related_name="offerings")
    broker_id = models.CharField(max_length=100, blank=True, help_text="Open Service Broker: the broker's service id.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServicePlan(models.Model):
    """One size of an offering. `limits` are what the provider enforces (PostgreSQL: `access`
    readwrite|readonly and `connections` per binding); `needs_approval` files a change request first."""

    offering = models.ForeignKey(ServiceOffering, on_delete=models.CASCADE, related_name="plans")
    slug = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    limits = models.JSONField(default=dict, blank=True)
    needs_approval = models.BooleanField(default=False)
    broker_id = models.CharField(max_length=100, blank=True, help_text="Open Service Broker: the broker's plan id.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["offering__name", "position", "slug"]
        constraints = [models.UniqueConstraint(fields=["offering", "slug"], name="serviceplan_unique_slug")]

    def __str__(self) -> str:
        return f"{self.offering.slug}/{self.slug}"


class InstanceState(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    PROVISIONING = "provisioning", "Provisioning"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DEPROVISIONING = "deprovisioning", "Deprovisioning"


class ServiceInstance(TenantOwned):
    """One provisioned add-on in an environment: a database, a key space. `provider_ref` is the name
    the provider knows it by; `last_operation` says what happened last, in words (a failure's reason)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="service_instances")
    offering = models.ForeignKey(ServiceOffering, on_delete=models.PROTECT, related_name="instances")
    plan = models.ForeignKey(ServicePlan, on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(max_length=40, validators=[SLUG_VALIDATOR])
    state = models.CharField(max_length=20, choices=InstanceState.choices, default=InstanceState.PROVISIONING)
    provider_ref = models.CharField(max_length=100, blank=True)
    last_operation = models.TextField(blank=True)
    operation = models.CharField(
        max_length=200,
        blank=True,
        help_text="The token an Open Service Broker gave its asynchronous operation, sent back when polling.",
    )
    usage = models.JSONField(
        default=dict, blank=True, help_text="Sampled by a beat job: keys or bytes, sampled_at, writes_blocked."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="serviceinstance_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.offering.name}, {self.environment.name})"


class BindingState(models.TextChoices):
    """`binding` and `unbinding` last while a provider works asynchronously (an Open Service Broker's
    202); a synchronous provider's binding leaves `binding` within its request, so one found there long
    after was interrupted and is revoked by the sweeper."""

    BINDING = "binding", "Binding"
    READY = "ready", "Ready"
    UNBINDING = "unbinding", "Unbinding"


class ServiceBinding(TenantOwned):
    """An application's own credential for an instance. The credentials (environment variables such as
    DATABASE_URL, and the provider's user name) are encrypted at rest; `env_prefix` is set when the
    application binds two add-ons of a kind, so their variables do not collide."""

    instance = models.ForeignKey(ServiceInstance, on_delete=models.PROTECT, related_name="bindings")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="service_bindings")
    state = models.CharField(max_length=12, choices=BindingState.choices, default=BindingState.BINDING)
    env_prefix = models.CharField(max_length=50, blank=True)
    username = models.CharField(max_length=100, blank=True)
    retiring_username = models.CharField(
        max_length=100, blank=True, help_text="The credential a rotation replaced, revoked after the overlap."
    )
    pending_username = models.CharField(
        max_length=100,
        blank=True,
        help_text="The credential a rotation is making: named before the provider is called, so an "
        "interrupted rotation's credential is found and revoked.",
    )
    last_operation = models.TextField(blank=True)
    operation = models.CharField(
        max_length=200,
        blank=True,
        help_text="The token an Open Service Broker gave its asynchronous operation, sent back when polling.",
    )
    credentials_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application__name", "instance__name"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "application"], name="servicebinding_one_per_application"),
        ]

    def __str__(self) -> str:
        return f"{self.application.name} → {self.instance.name}"

    @property
    def credentials(self) -> dict:
        """The environment variables this binding gives its application (decrypted)."""
        return json.loads(crypto.decrypt(self.credentials_encrypted)) if self.credentials_encrypted else {}

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = crypto.encrypt(json.dumps(value, sort_keys=True))
