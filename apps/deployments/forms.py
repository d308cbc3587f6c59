"""Forms of the deployment pages. They only parse input; the services decide what is allowed."""

from django import forms

from apps.catalog.models import Application, Release
from apps.core.errors import FieldErrors
from apps.tenants.forms import ServiceForm
from apps.tenants.models import Environment, promotion_order
from apps.tenants.roles import Role

from .choices import Strategy
from .models import DeploySettings
from .services.gating import justification_check
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


class ApplicationChoiceForm(forms.Form):
    """The first step of the deploy form when no application is chosen yet: read from the query
    string, so choosing one (a GET round-trip) lists only its releases."""

    application = forms.ModelChoiceField(
        queryset=Application.objects.none(), to_field_name="name", empty_label="Choose an application"
    )

    def __init__(self, *args, applications, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["application"]
        field.queryset = applications.order_by("name")
        field.label_from_instance = lambda app: app.name
        field.widget.attrs["data-autosubmit"] = "1"


# Fields that only one strategy reads; the form shows them only while that strategy is chosen.
STRATEGY_ONLY = {
    "steps": Strategy.CANARY,
    "gate_seconds": Strategy.CANARY,
    "match_header_name": Strategy.CANARY,
    "match_header_value": Strategy.CANARY,
    "match_cookie": Strategy.CANARY,
    "keep_seconds": Strategy.BLUE_GREEN,
}


class DeployForm(GovernedFields, ServiceForm, StrategyFields):
    """One application's release into an environment. The application is chosen before the form
    (it arrives as a hidden field), so the release list holds only its releases."""

    field_order = [
        "application",
        "release",
        "environment",
        "justification",
        "break_glass_reason",
        "progress_deadline_seconds",
    ]  # then the strategy
    application = forms.ModelChoiceField(queryset=Application.objects.none(), widget=forms.HiddenInput)
    release = forms.ModelChoiceField(
        queryset=Release.objects.none(), empty_label=None, help_text="Releases never change once cut."
    )
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    progress_deadline_seconds = forms.IntegerField(
        min_value=2,
        max_value=3600,
        required=False,
        label="Progress deadline (seconds)",
        help_text="A rollout that makes no progress for this long fails. Default 600.",
    )

    def __init__(self, *args, tenant, application, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application
        self.fields["application"].queryset = Application.objects.filter(pk=application.pk)
        releases = Release.objects.filter(tenant=tenant, application=application).order_by("-number")
        latest = releases.first()
        self.fields["release"].queryset = releases
        self.fields["release"].label_from_instance = lambda r: (
            f"#{r.number} · {r.image}" + (" (latest)" if r == latest else "")
        )
        self.fields["environment"].queryset = Environment.objects.filter(tenant=tenant)
        self.fields["environment"].label_from_instance = lambda env: f"{env.name} ({env.get_kind_display().lower()})"
        self.initial.setdefault("application", application.pk)
        if latest is not None:
            self.initial.setdefault("release", latest.pk)
        self.order_fields(self.field_order)

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        problems = FieldErrors()
        with problems.check():
            self.strategy_check(data, invalid)
        if "justification" not in invalid:
            with problems.check():
                justification_check(
                    data.get("environment"), data.get("justification", ""), data.get("break_glass_reason", "")
                )
        problems.raise_any()

    def form_field(self, field: str | None) -> str | None:
        return "match_header_name" if field == "match_header" else super().form_field(field)

    def field_rows(self) -> list[tuple]:
        """Each visible field with the strategy it belongs to ("" for all) and whether it shows now."""
        chosen = self["strategy"].value()
        rows = []
        for field in self.visible_fields():
            only = STRATEGY_ONLY.get(field.name, "")
            rows.append((field, only, not only or only == chosen))
        return rows


class ReasonForm(ServiceForm):
    reason = forms.CharField(max_length=500, required=False)
    # The application and workload pages' action forms send one justification for every button; a
    # rollback takes it as its reason.
    justification = forms.CharField(max_length=500, required=False)
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
        self.fields["environment"].queryset = (
            Environment.objects.filter(tenant_id=deployment.tenant_id)
            .exclude(pk=deployment.environment_id)
            .order_by(*promotion_order())
        )
        self.fields["environment"].label_from_instance = lambda env: env.name


class GovernedForm(GovernedFields, ServiceForm):
    """An operation with nothing to say but why (and, for owners, break-glass): restart, remove, resume."""


class DeploySettingsForm(GovernedFields, ServiceForm):
    auto_rollback = forms.BooleanField(required=False, label="Roll back automatically when a rollout fails")
    self_heal = forms.ChoiceField(
        choices=DeploySettings.SelfHeal.choices, required=False, label="When the cluster drifts from the release"
    )
    heal_skips_approval = forms.BooleanField(
        required=False, label="Where approval is needed, heal at once and review afterwards"
    )
    restart_on_incident = forms.BooleanField(required=False, label="Restart pods that crash-loop or stay unready")
    require_digest = forms.BooleanField(required=False, label="Accept only images pinned by digest")
