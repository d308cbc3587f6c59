"""Demo catalog for local runs: four platform templates, and two applications of acme with a release
each, so a newcomer has something to deploy. `seed_demo` calls `seed_catalog`; safe to repeat."""

from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from .models import Application, ServiceTemplate
from .services import application_create, release_create, template_create

OPERATOR = "operator@example.com"
IMAGE = {"type": "string", "title": "Image", "description": "registry/repository:tag"}
REPLICAS = {"type": "integer", "title": "Replicas", "minimum": 0, "maximum": 100}
MEMORY = {"type": "string", "title": "Memory", "enum": ["128Mi", "256Mi", "512Mi", "1Gi"]}

DEMO_TEMPLATES = [
    {
        "slug": "web-service",
        "name": "Web service",
        "component_kind": "web",
        "description": "An HTTP service behind a Service, optionally published on a host name.",
        "parameter_schema": {
            "type": "object",
            "required": ["image", "port"],
            "properties": {
                "image": IMAGE,
                "port": {"type": "integer", "title": "Container port", "minimum": 1, "maximum": 65535, "default": 8080},
                "replicas": {**REPLICAS, "default": 2},
                "memory_request": {**MEMORY, "default": "256Mi"},
                "ingress_host": {
                    "type": "string",
                    "title": "Public host name",
                    "description": "Leave empty to keep it inside the cluster.",
                },
            },
        },
        "defaults": {"cpu_request": "100m", "readiness_probe": {"httpGet": {"path": "/", "port": "http"}}},
    },
    {
        "slug": "worker",
        "name": "Worker",
        "component_kind": "worker",
        "description": "A long-running process without incoming traffic: queue consumers, mailers.",
        "parameter_schema": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": IMAGE,
                "replicas": {**REPLICAS, "default": 1},
                "memory_request": {**MEMORY, "default": "128Mi"},
            },
        },
        "defaults": {"cpu_request": "50m"},
    },
    {
        "slug": "cron-job",
        "name": "Cron job",
        "component_kind": "cron",
        "description": "A job that runs to completion on a schedule.",
        "parameter_schema": {
            "type": "object",
            "required": ["image", "schedule"],
            "properties": {
                "image": IMAGE,
                "schedule": {
                    "type": "string",
                    "title": "Schedule",
                    "default": "0 3 * * *",
                    "description": "Five cron fields: minute, hour, day of month, month, day of week.",
                },
            },
        },
        "defaults": {"cpu_request": "50m", "replicas": 1},
    },
    {
        "slug": "redis-cache",
        "name": "Redis cache",
        "component_kind": "web",
        "description": "An in-memory cache for one application; data is lost on restart unless persisted.",
        "parameter_schema": {
            "type": "object",
            "properties": {
                "memory_request": {**MEMORY, "title": "Cache memory", "default": "256Mi"},
                "persistence": {"type": "boolean", "title": "Keep data on restart", "default": False},
            },
        },
        "defaults": {
            "image": "redis:7.4",
            "ports": [{"name": "redis", "port": 6379}],
            "replicas": 1,
            "cpu_request": "50m",
            "args": ["--maxmemory-policy", "allkeys-lru"],
            "readiness_probe": {"tcpSocket": {"port": "redis"}},
        },
    },
]


def seed_catalog(users: dict) -> None:
    """Create what is missing: the templates (as the demo operator) and acme's storefront and mailer."""
    operator = Principal(users[OPERATOR])
    templates = {}
    for spec in DEMO_TEMPLATES:
        templates[spec["slug"]] = ServiceTemplate.objects.filter(slug=spec["slug"]).order_by(
            "version"
        ).first() or template_create(operator=operator, **spec)
    acme = Tenant.objects.filter(slug="acme").first()
    if acme is None:
        return
    developer = users["developer@acme.example.com"]
    as_developer = Principal(developer)
    if not Application.objects.filter(tenant=acme, name="storefront").exists():
        application_create(
            actor=as_developer,
            tenant=acme,
            name="storefront",
            template=templates["web-service"],
            description="The public web shop.",
            team="Web",
            owner=developer,
            parameters={"image": "nginx:1.27", "port": 80, "replicas": 2},
        )
    if not Application.objects.filter(tenant=acme, name="mailer").exists():
        mailer = application_create(
            actor=as_developer,
            tenant=acme,
            name="mailer",
            component_kind="worker",
            description="Sends order confirmations from the queue.",
            team="Commerce",
            owner=developer,
        )
        release_create(
            actor=as_developer,
            application=mailer,
            image="busybox:1.36",
            command=["sh", "-c", "while true; do echo sending queued mail; sleep 30; done"],
            env={"MAIL_FROM": "shop@acme.example.com"},
            notes="First release",
        )
