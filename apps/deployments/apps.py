from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    """Deployments of releases into environments: the state machine, the pipeline tasks, live events."""

    name = "apps.deployments"
    label = "deployments"

    def ready(self):
        from . import policies, quotas  # noqa: F401  (registers the policy and the usage counters)
