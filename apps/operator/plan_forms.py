"""Forms of the operator's plan pages, and the plan card of the tenant page."""

from django import forms
from django.forms.models import fields_for_model, model_to_dict

from apps.apikeys.models import Plan
from apps.apikeys.ratelimit import plan_of
from apps.apikeys.selectors import plan_assignment_of, plans_with_tenant_counts
from apps.apikeys.services import PLAN_FIELDS
from apps.tenants.forms import ServiceForm
from apps.tenants.models import Tenant


class PlanForm(ServiceForm):
    """A plan's numbers, as the model defines them; the service validates the whole and the single default."""

    LABELS = {
        "requests_per_second": "Requests per second (each key)",
        "burst": "Burst (each key)",
        "tenant_requests_per_second": "Requests per second (all keys of a tenant)",
        "tenant_burst": "Burst (all keys of a tenant)",
        "is_default": "Default plan",
    }
    HELP = {
        "daily_quota": "Requests per UTC day for the whole tenant; empty for unlimited.",
        "monthly_quota": "Requests per UTC month for the whole tenant; empty for unlimited.",
        "is_default": "Tenants without a plan of their own are on the default plan.",
    }

    def __init__(self, *args, instance: Plan | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", model_to_dict(instance, fields=PLAN_FIELDS))
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Plan, fields=PLAN_FIELDS, labels=self.LABELS, help_texts=self.HELP))


class TenantPlanForm(ServiceForm):
    plan = forms.ModelChoiceField(
        queryset=plans_with_tenant_counts(),
        required=False,
        empty_label="The default plan",
        widget=forms.Select(attrs={"class": "form-select form-select-sm", "aria-label": "Plan"}),
    )


def tenant_plan_context(tenant: Tenant) -> dict:
    """For the tenant page: the plan in force and the form that changes it."""
    assigned = plan_assignment_of(tenant)
    return {
        "plan_in_force": plan_of(tenant.pk),
        "plan_assigned": assigned is not None,
        "plan_form": TenantPlanForm(initial={"plan": assigned.plan_id if assigned else None}),
    }
