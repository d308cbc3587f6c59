"""Forms of the tenant pages. They only parse input; the services decide what is allowed."""

from typing import cast

from django import forms

from apps.core.errors import ApplicationError

from .models import Environment
from .roles import Role


class ServiceForm(forms.Form):
    """A form whose submission a service may refuse; the refusal lands on the field it names.

    Every error at once: when some fields fail to parse, `further_checks` still runs the service's
    checks on the fields that did parse, so the page lists both kinds together instead of the
    service's only after the next submit. (When every field parses, the service itself checks.)"""

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not self.errors:
            return
        invalid = set(self.errors)
        try:
            self.further_checks(self.cleaned_data, invalid)
        except ApplicationError as exc:
            for field, messages in exc.errors.items():
                target = self.form_field(field)
                if target not in invalid:
                    for message in messages:
                        self.add_error(target, message)

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        """The service's checks of `data` (the fields that parsed), raising one ApplicationError that
        names every field at fault; fields in `invalid` already have their error. None by default."""

    def submit(self, service, **arguments):
        """Run `service` with `arguments` and the form's fields when the form is valid; a refusal lands on
        the fields it names. Returns what the service returned, or None when the form or the service
        refused (so only for services that return what they made)."""
        if not self.is_valid():
            return None
        try:
            return service(**arguments, **self.cleaned_data)
        except ApplicationError as exc:
            self.add_application_error(exc)
            return None

    def add_application_error(self, exc: ApplicationError) -> None:
        for field, messages in (exc.errors or {"__all__": [exc.message]}).items():
            for message in messages:
                self.add_error(self.form_field(field), message)

    def form_field(self, field: str | None) -> str | None:
        """The form field a service's field name lands on; None (the whole form) for one it lacks."""
        return field if field in self.fields else None


class TenantCreateForm(ServiceForm):
    name = forms.CharField(max_length=100, help_text="Shown across the portal; you can change it later.")
    slug = forms.CharField(
        max_length=40,
        help_text="Lower-case letters, digits and single hyphens. It appears in URLs and namespace names and never changes; system names such as kube or default are kept for the platform.",
    )


class InvitationForm(ServiceForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,  # the column's length (Django's form field allows 320)
        widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.DEVELOPER)

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = roles


class MemberRoleForm(ServiceForm):
    role = forms.ChoiceField(choices=Role.choices)


class EnvironmentForm(ServiceForm):
    name = forms.CharField(
        max_length=30,
        help_text="Up to 30 lower-case letters, digits and single hyphens, for example <code>qa</code> or <code>eu-prod</code>. It names the namespace <code>&lt;organization&gt;--&lt;name&gt;</code>.",
    )
    kind = forms.ChoiceField(
        choices=Environment.Kind.choices,
        help_text="Only admins and owners change a production environment, and the organization's freezes cover it; "
        "it waits for approval once an approval policy (or the platform's rules) says so.",
    )


class QuotaIncreaseForm(ServiceForm):
    resource = forms.ChoiceField(choices=[])
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(), required=False, empty_label="Whole organization"
    )
    limit = forms.IntegerField(min_value=0, label="New limit")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, help_text="Operators read this when they decide."
    )

    def __init__(self, *args, tenant, **kwargs):
        from .models import Quota

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["resource"]).choices = Quota.Resource.choices
        environment = cast(forms.ModelChoiceField, self.fields["environment"])
        environment.queryset = Environment.objects.filter(tenant=tenant)
        environment.label_from_instance = lambda env: env.name  # type: ignore[assignment]
