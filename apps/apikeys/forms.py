"""The API key form: scopes offered are only those the creator's role may grant."""

from typing import cast

from django import forms

from apps.tenants.forms import ServiceForm
from apps.tenants.roles import READ, RESOURCES, WRITE, scopes_for_role

from .services import DEFAULT_EXPIRY_DAYS, DEFAULT_OVERLAP_HOURS, MAX_EXPIRY_DAYS, MAX_OVERLAP_HOURS


class APIKeyForm(ServiceForm):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "CI pipeline"}))
    scopes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", min_value=1, max_value=MAX_EXPIRY_DAYS, initial=DEFAULT_EXPIRY_DAYS
    )
    allowed_ips = forms.CharField(
        label="Allowed IP addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.7\n10.0.0.0/8"}),
        help_text="One address or CIDR range per line. Leave empty to allow any address.",
    )
    auto_rotate = forms.BooleanField(
        label="Rotate automatically",
        required=False,
        help_text="A week before it expires the portal makes its successor; you reveal it once in the developer console.",
    )

    def __init__(self, *args, role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = set(scopes_for_role(role))
        scopes = cast(forms.MultipleChoiceField, self.fields["scopes"])
        scopes.choices = [(scope, scope) for scope in scopes_for_role(role)]

    def clean_allowed_ips(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["allowed_ips"].splitlines() if line.strip()]

    def scope_rows(self) -> list[dict]:
        """One row per resource with its read and write checkboxes; a scope the role cannot grant is None."""
        checked = set(self["scopes"].value() or [])
        rows = []
        for resource in RESOURCES:
            scopes = [f"{resource}:{verb}" for verb in (READ, WRITE)]
            cells = [{"scope": s, "checked": s in checked} if s in self.offered else None for s in scopes]
            if any(cells):
                rows.append({"resource": resource, "read": cells[0], "write": cells[1]})
        return rows


class RotateForm(ServiceForm):
    overlap_hours = forms.IntegerField(
        label="Overlap (hours)", min_value=0, max_value=MAX_OVERLAP_HOURS, initial=DEFAULT_OVERLAP_HOURS
    )
