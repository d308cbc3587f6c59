"""Operator page for add-ons: the shared servers lent to tenants, the offerings and plans published on
them, and the instances that failed (retry once the provider is back). The page only parses input and
calls the marketplace's services, which check the operator, refuse the portal's own servers and audit."""

import json

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.operators import operator_required
from apps.marketplace import selectors, services
from apps.marketplace.models import ProviderKind, ServiceOffering, SharedServer
from apps.tenants.forms import ServiceForm
from apps.tenants.principals import as_principal


class ServerForm(ServiceForm):
    name = forms.SlugField(max_length=40)
    kind = forms.ChoiceField(choices=ProviderKind.choices)
    admin_url = forms.CharField(
        label="Admin URL",
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="postgresql://admin:password@host:5432/postgres, redis://admin:password@host:6379/0, a "
        "broker's https://user:password@broker.example.com, or for an in-cluster add-on its template "
        "(incluster://redis or incluster://postgres: a StatefulSet per instance in the tenant's namespace). "
        "Stored encrypted, never shown again.",
    )


class OfferingForm(ServiceForm):
    slug = forms.SlugField(max_length=40)
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    server = forms.ModelChoiceField(queryset=SharedServer.objects.order_by("name"), to_field_name="name")
    broker_id = forms.CharField(
        max_length=100, required=False, label="Broker service id", help_text="Open Service Broker offerings only."
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Published")


class PlanForm(ServiceForm):
    offering = forms.ModelChoiceField(queryset=ServiceOffering.objects.order_by("name"), to_field_name="slug")
    slug = forms.SlugField(max_length=40)
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    limits = forms.CharField(
        required=False,
        initial="{}",
        help_text='JSON, e.g. {"access": "readonly", "connections": 5, "storage": 1024}; storage is in MiB and '
        "counts against the tenants' add-on storage quota.",
    )
    needs_approval = forms.BooleanField(required=False)
    broker_id = forms.CharField(
        max_length=100, required=False, label="Broker plan id", help_text="Open Service Broker plans only."
    )
    position = forms.IntegerField(min_value=0, initial=0)

    def clean_limits(self):
        try:
            limits = json.loads(self.cleaned_data["limits"] or "{}")
        except ValueError:
            raise forms.ValidationError("Write the limits as a JSON object.") from None
        if not isinstance(limits, dict):
            raise forms.ValidationError("Write the limits as a JSON object.")
        return limits


FORMS = {"server": ServerForm, "offering": OfferingForm, "plan": PlanForm}


@operator_required
def addons(request):
    """GET: servers, offerings with plans, failed instances. POST `form=server|offering|plan`: one of them."""
    bound = request.POST.get("form") if request.method == "POST" else None
    forms_ = {name: form(request.POST if name == bound else None) for name, form in FORMS.items()}
    if bound in forms_ and forms_[bound].is_valid():
        form = forms_[bound]
        try:
            if bound == "server":
                services.server_register(operator=as_principal(request), **form.cleaned_data)
            elif bound == "offering":
                services.offering_publish(operator=as_principal(request), **form.cleaned_data)
            else:
                services.plan_publish(operator=as_principal(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, f"{form.cleaned_data['name']} saved.")
            return redirect("operator:addons")
    context = {
        "servers": selectors.servers_of_the_platform(),
        "offerings": selectors.offerings_of_the_platform(),
        "failed": selectors.failed_instances_of_every_tenant()[:100],
        **{f"{name}_form": form for name, form in forms_.items()},
    }
    return render(request, "operator/addons.html", context, status=400 if bound else 200)


@require_POST
@operator_required
def addon_retry(request, pk):
    instance = selectors.instance_of_any_tenant(pk)
    if instance is None:
        messages.error(request, "That add-on is gone.")
        return redirect("operator:addons")
    try:
        services.instance_retry(operator=as_principal(request), instance=instance)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Provisioning {instance.name} of {instance.tenant.name} again.")
    return redirect("operator:addons")
