"""Forms of the deployment pages. They only parse input; the services decide what is allowed."""

from django import forms

from apps.catalog.models import Application, Release
from apps.tenants.forms import ServiceForm
from apps.tenants.models import Environment
from apps.tenants.roles import Role

from .strategies.forms import StrategyFields

JUSTIFICATION_HELP = "Why this change is needed. Required where the environment needs approval; approvers read it."
BREAK_GLASS_HELP = (
    "Owners only, for emergencies: the change goes ahead past approval and any freeze, is flagged, "
    "and opens a review request afterwards."
)


def justification_field():
    return forms.CharField(
        max_length=2000, required=False, help_text=JUSTIFICATION_HELP, widget=forms.Textarea(attrs={"rows": 2})
    )


def break_glass_field():
    return forms.CharField(max_length=2000, required=False, label="Break-glass reason", help_text=BREAK_GLASS_HELP)


class GovernedFields(forms.Form):
    """Justification for every member; the break-glass reason only for owners, the only ones who may use it."""

    def __init__(self, *args, role=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["justification"] = justification_field()
        if role == Role.OWNER:
            self.fields["break_glass_reason"] = break_glass_field()

    def governed(self) -> dict:
        return {
            "justification": self.cleaned_data.get("justification", ""),
            "break_glass_reason": self.cleaned_data.get("break_glass_reason", ""),
        }


class DeployForm(GovernedFields, ServiceForm, StrategyFields):
    field_order = [
        "application",
        "release",
        "environment",
        "justification",
        "break_glass_reason",
        "progress_deadline_seconds",
    ]  # then the strategy
    application = forms.ModelChoiceField(queryset=Application.objects.none())
    release = forms.ModelChoiceField(queryset=Release.objects.none(), help_text="Releases never change once cut.")
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    progress_deadline_seconds = forms.IntegerField(
        min_value=2,
        max_value=3600,
        required=False,
        label="Progress deadline (seconds)",
        help_text="A rollout that makes no progress for this long fails. Default 600.",
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = Application.objects.filter(tenant=tenant).order_by("name")
        self.fields["release"].queryset = (
            Release.objects.filter(tenant=tenant).select_related("application").order_by("application__name", "-number")
        )
        self.fields["release"].label_from_instance = lambda r: f"{r.application.name} #{r.number} · {r.image}"
        self.fields["environment"].queryset = Environment.objects.filter(tenant=tenant)
        self.fields["application"].label_from_instance = lambda app: app.name
        self.fields["environment"].label_from_instance = lambda env: f"{env.name} ({env.get_kind_display().lower()})"
        self.order_fields(self.field_order)

    def clean(self):
        data = super().clean()
        if data.get("release") and data.get("application") and data["release"].application_id != data["application"].pk:
            self.add_error("release", f"Choose a release of {data['application'].name}.")
        return data


class ReasonForm(ServiceForm):
    reason = forms.CharField(max_length=500, required=False)
    break_glass_reason = forms.CharField(max_length=2000, required=False)  # rollback, owners only (the gate checks)


class ScaleForm(GovernedFields, ServiceForm):
    replicas = forms.IntegerField(min_value=0, max_value=100)


class PromoteForm(GovernedFields, ServiceForm):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(),
        label="Promote to",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, deployment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["justification"].widget = forms.TextInput(attrs={"class": "form-control form-control-sm"})
        self.fields["environment"].queryset = Environment.objects.filter(tenant_id=deployment.tenant_id).exclude(
            pk=deployment.environment_id
        )
        self.fields["environment"].label_from_instance = lambda env: env.name


class GovernedForm(GovernedFields, ServiceForm):
    """An operation with nothing to say but why (and, for owners, break-glass): restart, remove, resume."""


class DeploySettingsForm(GovernedFields, ServiceForm):
    auto_rollback = forms.BooleanField(required=False, label="Roll back automatically when a rollout fails")
