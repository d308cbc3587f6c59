from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """Approval policies, freeze windows, change requests and decisions: the approval state machine."""

    name = "apps.approvals"
    label = "approvals"

    def ready(self):
        from apps.core.governance import install

        from . import policies  # noqa: F401  (registers the policies)
        from .gate import ApprovalGate

        install(ApprovalGate())
