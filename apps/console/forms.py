"""Operator console forms: quotas and tenant status."""

from django import forms

from apps.tenants.forms import ServiceForm
from apps.tenants.models import Quota, Tenant


class QuotaForm(ServiceForm):
    """One limit for one resource, for the whole tenant or (with `environment`) for one environment."""

    resource = forms.ChoiceField(choices=Quota.Resource.choices, widget=forms.HiddenInput)
    environment = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    limit = forms.IntegerField(min_value=0)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = tenant.environments.all()


class TenantStatusForm(ServiceForm):
    status = forms.ChoiceField(choices=Tenant.Status.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=500, widget=forms.TextInput(attrs={"placeholder": "Unpaid invoice INV-0042"}),
        help_text="Recorded in the audit trail.",
    )
