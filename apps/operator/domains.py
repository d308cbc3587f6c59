"""Operator page for reserved domains: which tenant may route hosts under a domain, or none at all.

The page only parses input and calls the tenants' claim services, which check the operator and audit.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.operators import operator_required
from apps.tenants.claims import domain_release, domain_reserve, host_release, portal_domains
from apps.tenants.forms import ServiceForm
from apps.tenants.models import DomainReservation, HostClaim
from apps.tenants.principals import as_principal
from apps.tenants.selectors import domain_reservations_of_the_platform, host_claims_of_every_tenant, tenant_choices
from apps.traffic.selectors import routes_of_hosts, wildcard_routes


class DomainForm(ServiceForm):
    domain = forms.CharField(
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "acme.example.com"}),
        help_text="The domain and every host under it.",
    )
    tenant = forms.ModelChoiceField(
        queryset=tenant_choices(),
        required=False,
        to_field_name="slug",
        empty_label="The platform (no tenant may use it)",
    )
    note = forms.CharField(max_length=200, required=False)


@operator_required
def domains(request):
    form = DomainForm(request.POST or None)
    reservation = form.submit(domain_reserve, operator=as_principal(request))
    if reservation is not None:
        messages.success(request, f"{reservation.domain} reserved.")
        return redirect("operator:domains")
    rows = domain_reservations_of_the_platform()
    claims = host_claims_of_every_tenant()
    shown = list(claims[:500])
    routes = routes_of_hosts([claim.host for claim in shown])
    for claim in shown:
        claim.routes = routes[claim.host]
    return render(
        request,
        "operator/domains.html",
        {
            "form": form,
            "reservations": rows,
            "claims": shown,
            "wildcards": wildcard_routes(),
            "claim_count": claims.count(),
            "portal_domains": portal_domains(),
        },
        status=400 if request.method == "POST" else 200,
    )


@operator_required
@require_POST
def domain_delete(request, pk):
    reservation = get_object_or_404(DomainReservation, pk=pk)
    domain_release(operator=as_principal(request), reservation=reservation)
    messages.success(request, f"{reservation.domain} is no longer reserved.")
    return redirect("operator:domains")


@operator_required
@require_POST
def host_claim_release(request, pk):
    claim = get_object_or_404(HostClaim, pk=pk)
    host_release(operator=as_principal(request), claim=claim)
    messages.success(request, f"{claim.host} is free again.")
    return redirect("operator:domains")
