"""Operator console forms: quotas, tenant status and cluster registration."""

from django import forms

from apps.clusters.models import Cluster
from apps.clusters.services import cluster_auth_methods
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
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Unpaid invoice INV-0042"}),
        help_text="Recorded in the audit trail.",
    )


# Which authentication methods use each method-specific field; every other field applies to all.
AUTH_FIELDS = {
    "api_url": (Cluster.Auth.TOKEN, Cluster.Auth.SANDBOX),
    "kubeconfig": (Cluster.Auth.KUBECONFIG,),
    "context": (Cluster.Auth.KUBECONFIG,),
    "token": (Cluster.Auth.TOKEN,),
    "ca_bundle": (Cluster.Auth.TOKEN,),
}
CREDENTIAL_FIELDS = ("kubeconfig", "context", "token", "ca_bundle")


class ClusterRegisterForm(ServiceForm):
    """Registering a cluster. The token is a password input so a refused form never shows it again;
    fields the chosen method does not use are dropped, so a value typed before switching is not kept."""

    name = forms.SlugField(
        max_length=50, help_text="Lower-case letters, digits and hyphens, e.g. <code>prod-eu</code>."
    )
    description = forms.CharField(max_length=200, required=False)
    auth_method = forms.ChoiceField(
        label="Authentication", choices=Cluster.Auth.choices, widget=forms.Select(attrs={"data-auth-switch": ""})
    )
    api_url = forms.URLField(
        label="API URL",
        max_length=300,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://k8s.example.com:6443"}),
    )
    kubeconfig = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="The whole kubeconfig file. Stored encrypted.",
    )
    context = forms.CharField(
        max_length=253, required=False, help_text="Needed when the kubeconfig has more than one context."
    )
    token = forms.CharField(
        label="Bearer token",
        required=False,
        widget=forms.PasswordInput,
        help_text="A service-account token. Stored encrypted, never shown again.",
    )
    ca_bundle = forms.CharField(
        label="CA bundle",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "-----BEGIN CERTIFICATE-----"}),
        help_text="PEM certificates the API server's certificate must chain to.",
    )
    ingress_namespace = forms.CharField(
        max_length=63, initial="ingress-nginx", help_text="Namespace of the ingress controller allowed into tenants."
    )
    is_default = forms.BooleanField(label="Place new environments on this cluster", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = cluster_auth_methods()
        self.fields["auth_method"].choices = [
            (value, label) for value, label in Cluster.Auth.choices if value in allowed
        ]
        self.offers_sandbox = Cluster.Auth.SANDBOX in allowed
        for name, methods in AUTH_FIELDS.items():
            self.fields[name].widget.attrs["data-auth-for"] = " ".join(methods)

    def clean_name(self):
        # /operator/clusters/new/ is the registration page, so a cluster called "new" could not be opened.
        if self.cleaned_data["name"] == "new":
            raise forms.ValidationError("“new” is reserved; choose another name.")
        return self.cleaned_data["name"]

    def clean(self):
        cleaned = super().clean()
        for name, methods in AUTH_FIELDS.items():
            if cleaned.get("auth_method") not in methods:
                cleaned[name] = ""
        return cleaned

    def service_arguments(self) -> dict:
        """The keyword arguments of cluster_register, credentials gathered into one dict."""
        fields = dict(self.cleaned_data)
        fields["credentials"] = {key: fields.pop(key) for key in CREDENTIAL_FIELDS}
        return fields


class ClusterTrafficForm(forms.ModelForm):
    """What routes become on a cluster; cluster_traffic_set checks the combination and audits it."""

    class Meta:
        model = Cluster
        fields = ["traffic_renderer", "gateway_namespace", "gateway_name"]
        labels = {"traffic_renderer": "Routes become", "gateway_namespace": "Gateway namespace"}
