"""Operator page for single sign-on: the identity provider, its group mapping and the domains that sign
in only through it. Where the environment configures an IdP, the page shows it and changes nothing.

The page only parses input and calls the tenants' SSO service, which checks the operator and audits.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render

from apps.accounts.idp import ENVIRONMENT, configuration
from apps.accounts.models import SingleSignOn
from apps.core.errors import ApplicationError
from apps.core.operators import operator_required
from apps.tenants.forms import ServiceForm
from apps.tenants.principals import as_principal
from apps.tenants.sso import sso_configure


class SingleSignOnForm(ServiceForm):
    enabled = forms.BooleanField(required=False, label="Offer sign-in through this provider")
    name = forms.CharField(max_length=80, help_text="What the sign-in button says: “Sign in with …”.")
    server_url = forms.URLField(
        max_length=300,
        assume_scheme="https",
        required=False,
        label="Issuer URL",
        widget=forms.URLInput(attrs={"placeholder": "https://sso.example.com/realms/company"}),
        help_text="The provider's discovery document is read from here (/.well-known/openid-configuration).",
    )
    client_id = forms.CharField(max_length=200, required=False, label="Client ID")
    client_secret = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Kept encrypted; leave empty to keep the stored one.",
    )
    groups_claim = forms.CharField(
        max_length=100, help_text="The ID token or userinfo claim that lists the groups (Entra: group ids)."
    )
    group_roles = forms.CharField(
        max_length=10000,
        required=False,
        label="Groups → roles",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "acme-admins=acme/admin\nacme-devs=acme/developer"}),
        help_text="One group=tenant/role per line, applied at every login; a membership made by it goes away with the group.",
    )
    only_domains = forms.CharField(
        max_length=2000,
        required=False,
        label="Sign in only through the provider",
        widget=forms.TextInput(attrs={"placeholder": "corp.example"}),
        help_text="Email domains whose people may not use a password here; separated by commas.",
    )


@operator_required
def single_sign_on(request):
    config = configuration()
    row = SingleSignOn.objects.filter(pk=SingleSignOn.ROW).first() or SingleSignOn()
    initial = {name: getattr(row, name) for name in SingleSignOnForm.base_fields if name != "client_secret"}
    form = SingleSignOnForm(request.POST or None, initial=initial)
    if config.source == ENVIRONMENT:
        form = None  # the environment's settings win; the page says so and offers nothing to change
    elif request.method == "POST" and form.is_valid():
        try:
            sso_configure(operator=as_principal(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, "Single sign-on saved.")
            return redirect("operator:sso")
    context = {"form": form, "config": config, "row": row, "has_secret": bool(row.client_secret_encrypted)}
    failed = form is not None and request.method == "POST"
    return render(request, "operator/sso.html", context, status=400 if failed else 200)
