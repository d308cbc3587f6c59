"""Forms of the deployment pages. They only parse input; the services decide what is allowed."""

from django import forms

from apps.catalog.models import Application, Release
from apps.tenants.forms import ServiceForm
from apps.tenants.models import Environment

from .strategies.forms import StrategyFields


class DeployForm(ServiceForm, StrategyFields):
    field_order = ["application", "release", "environment", "progress_deadline_seconds"]  # then the strategy
    application = forms.ModelChoiceField(queryset=Application.objects.none())
    release = forms.ModelChoiceField(queryset=Release.objects.none(), help_text="Releases never change once cut.")
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    progress_deadline_seconds = forms.IntegerField(
        min_value=2, max_value=3600, required=False, label="Progress deadline (seconds)",
        help_text="A rollout that makes no progress for this long fails. Default 600.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = Application.objects.filter(tenant=tenant).order_by("name")
        self.fields["release"].queryset = (Release.objects.filter(tenant=tenant).select_related("application")
                                           .order_by("application__name", "-number"))
        self.fields["release"].label_from_instance = lambda r: f"{r.application.name} #{r.number} · {r.image}"
        self.fields["environment"].queryset = Environment.objects.filter(tenant=tenant)
        self.fields["application"].label_from_instance = lambda app: app.name
        self.fields["environment"].label_from_instance = lambda env: f"{env.name} ({env.get_kind_display().lower()})"

    def clean(self):
        data = super().clean()
        if data.get("release") and data.get("application") and data["release"].application_id != data["application"].pk:
            self.add_error("release", f"Choose a release of {data['application'].name}.")
        return data


class ReasonForm(ServiceForm):
    reason = forms.CharField(max_length=500, required=False)


class ScaleForm(ServiceForm):
    replicas = forms.IntegerField(min_value=0, max_value=100)


class PromoteForm(ServiceForm):
    environment = forms.ModelChoiceField(queryset=Environment.objects.none(), label="Promote to",
                                         widget=forms.Select(attrs={"class": "form-select form-select-sm"}))

    def __init__(self, *args, deployment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = (Environment.objects.filter(tenant_id=deployment.tenant_id)
                                               .exclude(pk=deployment.environment_id))
        self.fields["environment"].label_from_instance = lambda env: env.name


class DeploySettingsForm(ServiceForm):
    auto_rollback = forms.BooleanField(required=False, label="Roll back automatically when a rollout fails")
