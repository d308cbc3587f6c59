"""Webhook pages of one tenant, under /t/<tenant_slug>/webhooks/: endpoints, their deliveries, and the
actions on them. Owners and admins only; other members get the 403 that names the role needed."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import services
from .events import EVENT_TYPES, GROUPS
from .forms import WebhookEndpointForm
from .models import WebhookEndpoint
from .selectors import deliveries_for, delivery_state_counts, endpoints_for

DELIVERIES_SHOWN = 50


def _readable(request) -> None:
    allowed = policy_for(WebhookEndpoint).allows(request, "view", request.tenant)
    require_role(request, allowed, needs=Role.ADMIN, doing="Managing webhooks")


def _endpoint(request, pk: int) -> WebhookEndpoint:
    _readable(request)
    endpoint = endpoints_for(request, request.tenant).filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _secret_page(request, endpoint, secret: str, *, created: bool):
    """The only page that ever shows a secret; no browser or proxy may keep a copy."""
    context = {"endpoint": endpoint, "secret": secret, "created": created}
    response = render_tenant_page(request, "webhooks/secret.html", context, section="webhooks")
    add_never_cache_headers(response)
    return response


@tenant_view
def endpoint_list(request):
    """GET: the endpoints with their delivery counts and the form. POST: subscribe a new endpoint."""
    _readable(request)
    form = WebhookEndpointForm(request.POST or None, initial={"events": ["deployment.*"]})
    made = form.submit(services.endpoint_create, actor=as_principal(request), tenant=request.tenant)  # None unless sent
    if made is not None:
        endpoint, secret = made
        return _secret_page(request, endpoint, secret, created=True)
    endpoints = list(endpoints_for(request, request.tenant))
    counts = delivery_state_counts([endpoint.pk for endpoint in endpoints])
    rows = [
        {
            "endpoint": endpoint,
            "counts": counts[endpoint.pk],
            "waiting": counts[endpoint.pk].get("pending", 0) + counts[endpoint.pk].get("retrying", 0),
        }
        for endpoint in endpoints
    ]
    context = {
        "rows": rows,
        "form": form,
        "refused": form,
        "may_create": policy_for(WebhookEndpoint).can_add(request, request.tenant),
        "recent": deliveries_for(request, request.tenant)[:10],
    }
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "webhooks/list.html", context, section="webhooks", status=status)


@tenant_view
def endpoint_detail(request, pk):
    endpoint = _endpoint(request, pk)
    form = WebhookEndpointForm(
        initial={"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    )
    return _detail_page(request, endpoint, form)


def _detail_page(request, endpoint, form, status=200):
    context = {
        "endpoint": endpoint,
        "form": form,
        "refused": form if status == 400 else None,
        "deliveries": deliveries_for(request, request.tenant).filter(endpoint=endpoint)[:DELIVERIES_SHOWN],
        "may_change": policy_for(WebhookEndpoint).can_change(request, endpoint),
        "event_labels": {**GROUPS, **EVENT_TYPES},
    }
    return render_tenant_page(request, "webhooks/detail.html", context, section="webhooks", status=status)


@require_POST
@tenant_view
def endpoint_edit(request, pk):
    endpoint = _endpoint(request, pk)
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(actor=as_principal(request), endpoint=endpoint, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhooks:detail", tenant_slug=request.tenant.slug, pk=endpoint.pk)
    return _detail_page(request, endpoint, form, status=400)


def _act(request, endpoint, action, done: str):
    try:
        action(actor=as_principal(request), endpoint=endpoint)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("webhooks:detail", tenant_slug=request.tenant.slug, pk=endpoint.pk)


@require_POST
@tenant_view
def endpoint_test(request, pk):
    return _act(
        request,
        _endpoint(request, pk),
        services.endpoint_send_test,
        "Test event queued; it appears in the deliveries below.",
    )


@require_POST
@tenant_view
def endpoint_enable(request, pk):
    return _act(request, _endpoint(request, pk), services.endpoint_enable, "Webhook enabled.")


@require_POST
@tenant_view
def endpoint_rotate_secret(request, pk):
    endpoint = _endpoint(request, pk)
    try:
        endpoint, secret = services.endpoint_rotate_secret(actor=as_principal(request), endpoint=endpoint)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:detail", tenant_slug=request.tenant.slug, pk=endpoint.pk)
    return _secret_page(request, endpoint, secret, created=False)


@require_POST
@tenant_view
def endpoint_delete(request, pk):
    endpoint = _endpoint(request, pk)
    try:
        services.endpoint_delete(actor=as_principal(request), endpoint=endpoint)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:detail", tenant_slug=request.tenant.slug, pk=endpoint.pk)
    messages.success(request, f"Webhook to {endpoint.url} removed.")
    return redirect("webhooks:list", tenant_slug=request.tenant.slug)


@require_POST
@tenant_view
def delivery_replay(request, pk):
    _readable(request)
    delivery = deliveries_for(request, request.tenant).filter(pk=pk).first()
    if delivery is None:
        raise Http404
    try:
        services.delivery_replay(actor=as_principal(request), delivery=delivery)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Delivery {delivery.pk} replayed as a new delivery.")
    return redirect("webhooks:detail", tenant_slug=request.tenant.slug, pk=delivery.endpoint_id)
