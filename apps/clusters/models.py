"""Clusters the platform deploys to, and where each environment lives on them."""

import json

from django.db import models

from apps.core import crypto
from apps.tenants.models import Environment

# What routes become on a cluster (apps/traffic/renderers.py).
TRAFFIC_RENDERERS = [
    ("ingress_nginx", "ingress-nginx (Ingress + annotations)"),
    ("gateway_api", "Gateway API (HTTPRoute)"),
]


class Cluster(models.Model):
    """A Kubernetes cluster the portal can reach.

    How to authenticate is one of: a kubeconfig, a bearer token with a CA bundle, the in-cluster
    service account, or the embedded sandbox. Credentials are stored encrypted with the
    field-encryption keys, never shown again and never logged.
    """

    class Auth(models.TextChoices):
        KUBECONFIG = "kubeconfig", "Kubeconfig"
        TOKEN = "token", "Bearer token and CA bundle"
        IN_CLUSTER = "in_cluster", "In-cluster service account"
        SANDBOX = "sandbox", "Sandbox cluster"

    name = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=200, blank=True)
    api_url = models.URLField(max_length=300, blank=True, help_text="Not needed for kubeconfig or in-cluster.")
    auth_method = models.CharField(max_length=16, choices=Auth.choices)
    credentials_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    ingress_namespace = models.CharField(
        max_length=63, default="ingress-nginx", help_text="Namespace of the ingress controller allowed into tenants."
    )
    traffic_renderer = models.CharField(
        max_length=16,
        choices=[
            ("ingress_nginx", "ingress-nginx (Ingress + annotations)"),
            ("gateway_api", "Gateway API (HTTPRoute)"),
        ],
        default="ingress_nginx",
        help_text="What routes become on this cluster.",
    )
    gateway_namespace = models.CharField(
        max_length=63, blank=True, help_text="Gateway API: the namespace of the Gateway routes attach to."
    )
    gateway_name = models.CharField(max_length=253, blank=True, help_text="Gateway API: the Gateway routes attach to.")
    is_default = models.BooleanField(default=False, help_text="New environments are placed here.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_check = models.JSONField(default=dict, blank=True, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_cluster"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def credentials(self) -> dict:
        """The decrypted credentials: kubeconfig (text) and context, or token and ca_bundle."""
        if not self.credentials_encrypted:
            return {}
        return json.loads(crypto.decrypt(self.credentials_encrypted))

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = crypto.encrypt(json.dumps(value)) if value else ""


class Placement(models.Model):
    """Which cluster an environment's namespace lives on, and whether it has been provisioned.

    Kept on the clusters side so that tenants know nothing of clusters; one row per environment.
    """

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="placement")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="placements")
    provisioned_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.environment.namespace} on {self.cluster}"
