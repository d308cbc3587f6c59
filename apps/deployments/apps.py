from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    """Deployments of releases into environments: the state machine, the pipeline tasks, live events."""

    name = "apps.deployments"
    label = "deployments"

    def ready(self):
        # Registers the policy, the usage counters and the backlog reader, and the tasks in every process:
        # the services send tasks by name (dispatch.py), which must find the portal's NudgeTask in the web
        # process too.
        from . import fairness, policies, quotas, tasks  # noqa: F401
