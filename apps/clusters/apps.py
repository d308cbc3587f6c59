from django.apps import AppConfig


class ClustersConfig(AppConfig):
    """Cluster registry and the Kubernetes client layer (the only importer of `kubernetes`).

    The sandbox cluster that tests and `make run` use is not part of this app: it is the top-level
    `sandbox` package, a development tool kept out of the production image."""

    name = "apps.clusters"
    label = "clusters"

    def ready(self):
        from . import receivers  # noqa: F401
