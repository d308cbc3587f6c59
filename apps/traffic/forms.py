"""The route form of the Traffic tab. It parses; the services decide what is valid."""

from django import forms

from apps.tenants.forms import ServiceForm

from .consumer_keys import consumer_key_check
from .models import Route


def _number(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, help_text=help_text)


class RouteForm(ServiceForm):
    environment: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, to_field_name="name", empty_label=None)
    host = forms.CharField(
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "shop.example.com"}),
        help_text="A DNS name; *.domain only under a domain reserved for you.",
    )
    path = forms.CharField(max_length=200, initial="/")
    path_type = forms.ChoiceField(choices=Route.PathType.choices, initial=Route.PathType.PREFIX)
    service_port = _number("Service port", "Defaults to the first port of the latest release.")
    tls = forms.ChoiceField(label="TLS", choices=Route.TLS.choices, initial=Route.TLS.NONE)
    tls_secret = forms.CharField(
        label="TLS secret", max_length=253, required=False, help_text="With a Secret: its name in this namespace."
    )
    cert_issuer = forms.CharField(
        label="Certificate issuer", max_length=253, required=False, help_text="With cert-manager: the ClusterIssuer."
    )
    connect_timeout_seconds = _number("Connect timeout (s)", "1-3600")
    read_timeout_seconds = _number("Read timeout (s)", "1-3600")
    max_body_size_mb = _number("Largest body (MiB)", "1-1024")
    cors_allow_origins = forms.CharField(
        label="CORS origins",
        max_length=2000,
        required=False,
        help_text="Comma-separated, e.g. https://app.example.com; empty turns CORS off.",
    )
    rate_limit_rps = _number("Requests per second", "Per client address, counted by each controller pod.")
    rate_limit_burst = _number("Burst", "Requests above the rate a client may send at once.")
    rate_limit_connections = _number("Connections", "Open connections per client address.")
    auth = forms.ChoiceField(choices=Route.Auth.choices, initial=Route.Auth.NONE)
    justification = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed where changes need approval.",
    )

    def __init__(self, *args, environments, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["environment"]
        field.queryset = environments  # type: ignore[attr-defined]
        if editing:
            del self.fields["environment"]

    def clean_cors_allow_origins(self) -> list[str]:
        text = self.cleaned_data.get("cors_allow_origins") or ""
        return [origin.strip() for origin in text.split(",") if origin.strip()]

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("environment", None)
        return data

    @classmethod
    def initial_from(cls, route: Route) -> dict:
        initial = {name: getattr(route, name) for name in cls.base_fields if hasattr(route, name)}
        initial["cors_allow_origins"] = ", ".join(route.cors_allow_origins or [])
        initial.pop("environment", None)
        return initial


class _SwitchForm(ServiceForm):
    enabled = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda value: value == "on", widget=forms.HiddenInput
    )
    message = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    justification = forms.CharField(max_length=2000, required=False, help_text="Needed where changes need approval.")

    def service_arguments(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}


class MaintenanceForm(_SwitchForm):
    """The Traffic tab's maintenance switch: on now or in a window, with a message and Retry-After."""

    retry_after_seconds = forms.IntegerField(label="Retry-After (s)", required=False, help_text="1-86400")
    starts_at = forms.DateTimeField(
        label="Starts", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class DegradeForm(_SwitchForm):
    """The Traffic tab's degrade switch: a static fallback page for the route's path."""


class UsagePlanForm(ServiceForm):
    """A usage plan: how fast and how much each consumer key on it may call."""

    name = forms.CharField(max_length=60, help_text="Sent to your applications as X-Consumer-Plan.")
    description = forms.CharField(max_length=200, required=False)
    requests_per_second = forms.IntegerField(
        label="Requests per second", help_text="Per key, across every gateway pod."
    )
    burst = forms.IntegerField(help_text="Requests a key may send at once; at least the rate.")
    daily_quota = forms.IntegerField(
        label="Daily quota", required=False, help_text="Calls per key per UTC day; empty: none."
    )
    monthly_quota = forms.IntegerField(
        label="Monthly quota", required=False, help_text="Calls per key per UTC month; empty: none."
    )

    @classmethod
    def initial_from(cls, plan) -> dict:
        return {name: getattr(plan, name) for name in cls.base_fields}


class ConsumerKeyForm(ServiceForm):
    """A key for one consumer of the tenant's APIs, on one of its usage plans or the platform's default."""

    name = forms.CharField(
        max_length=100, help_text="Who the consumer is; sent to your applications as X-Consumer-Name."
    )
    usage_plan: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, label="Usage plan", to_field_name="name"
    )
    expires_in_days = forms.IntegerField(label="Expires after (days)", required=False, help_text="Empty: never.")

    def __init__(self, *args, tenant, plans, default_plan: str, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["usage_plan"]
        field.queryset = plans  # type: ignore[attr-defined]
        field.empty_label = default_plan  # type: ignore[attr-defined]
        self.tenant = tenant

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        consumer_key_check(tenant=self.tenant, invalid=invalid, **data)
