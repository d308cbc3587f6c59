from django.apps import AppConfig


class ClustersConfig(AppConfig):
    """Cluster registry, the Kubernetes client layer (the only importer of `kubernetes`), the sandbox cluster."""

    name = "apps.clusters"
    label = "clusters"

    def ready(self):
        from . import receivers  # noqa: F401
