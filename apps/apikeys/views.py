"""API key pages: the tenant's keys, creating and rotating one (its plaintext shown once), revealing an
auto-rotated one, revoking; their usage. The developer console (console.py) posts to these too."""

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.core import once
from apps.core.errors import ApplicationError
from apps.tenants.forms import ServiceForm
from apps.tenants.pages import render_tenant_page, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role, at_least
from apps.tenants.stepup import REAUTHENTICATION_REQUIRED, reauthentication_url

from . import selectors
from .filtersets import UsageDailyFilterSet
from .forms import APIKeyForm, RotateForm
from .lifecycle import key_report
from .models import APIKey
from .services import (
    MAX_OVERLAP_HOURS,
    apikey_create,
    apikey_reveal,
    apikey_revoke,
    apikey_rotate,
    apikey_set_auto_rotate,
)

USAGE_DEFAULT_DAYS = 30
ONCE = "api-key"  # the create form's kind of token (apps/core/once.py)


def _keys(request):
    return selectors.apikey_list_for(as_principal(request), tenant=request.tenant)


def _list_page(request, form: APIKeyForm, refused=None):
    context = {
        "keys": _keys(request),
        "form": form,
        "refused": refused,
        "show_owner": at_least(request.role, Role.ADMIN),
        "report": key_report(_keys(request)),
        "rotate_form": RotateForm(),
        "once": once.token(),
    }
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "apikeys/list.html", context, section="apikeys", status=status)


@tenant_view
def key_list(request):
    if request.method == "POST" and not once.claim(request, ONCE):
        # Sent again: a reload of the page that showed the key, Back and Create, a double click.
        messages.warning(request, once.key_made_already(once.made(request, ONCE)))
        return redirect(_list_url(request))
    form = APIKeyForm(request.POST or None, role=request.role)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, plaintext = apikey_create(actor=as_principal(request), tenant=request.tenant, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_application_error(exc)
        else:
            once.remember(request, ONCE, [api_key.name, api_key.prefix])
            return _created(request, api_key, plaintext)
    if request.method == "POST":
        once.release(request, ONCE)
    return _list_page(request, form, refused=form)


def _created(request, api_key: APIKey, plaintext: str, *, how: str = "created"):
    """The only page that ever shows the key; no browser or proxy may keep a copy."""
    context = {"key": api_key, "plaintext": plaintext, "how": how, "back": _back_url(request)}
    response = render_tenant_page(request, "apikeys/created.html", context, section="apikeys")
    add_never_cache_headers(response)
    return response


@tenant_view
@require_POST
def key_revoke(request, pk):
    api_key = get_object_or_404(_keys(request), pk=pk)
    form = ServiceForm(request.POST)
    try:
        apikey_revoke(actor=as_principal(request), api_key=api_key)
    except ApplicationError as exc:
        if _back_url(request) != _list_url(request):
            messages.error(request, exc.message)
            return redirect(_back_url(request))
        form.add_application_error(exc)
        return _list_page(request, APIKeyForm(role=request.role), refused=form)
    messages.success(request, f"Key “{api_key.name}” ({api_key.prefix}…) is revoked; it stops working at once.")
    return redirect(_back_url(request))


def _list_url(request) -> str:
    return reverse("apikeys:list", kwargs={"tenant_slug": request.tenant.slug})


def _back_url(request) -> str:
    """Where a key action returns to: the developer console when it was started there, else the keys page."""
    if request.POST.get("return_to") == "console" or request.GET.get("return_to") == "console":
        return f"{reverse('developer-console')}?tenant={request.tenant.slug}"
    return _list_url(request)


@tenant_view
@require_POST
def key_rotate(request, pk):
    """Rotate your own key: the successor is shown once; the old key works for the chosen overlap."""
    api_key = get_object_or_404(_keys(request), pk=pk)
    form = RotateForm(request.POST)
    if form.is_valid():
        try:
            successor, plaintext = apikey_rotate(actor=as_principal(request), api_key=api_key, **form.cleaned_data)
        except ApplicationError as exc:
            if exc.code == REAUTHENTICATION_REQUIRED:  # nothing typed is lost: confirm, then rotate again
                messages.info(request, f"Confirm it is you, then rotate “{api_key.name}” again.")
                return redirect(f"{reauthentication_url(request.user)}?{urlencode({'next': _back_url(request)})}")
            messages.error(request, exc.message)
        else:
            return _created(request, successor, plaintext, how="rotated")
    else:
        messages.error(request, f"The overlap is 0 to {MAX_OVERLAP_HOURS} hours.")
    return redirect(_back_url(request))


@tenant_view
@require_POST
def key_auto_rotate(request, pk):
    """Turn automatic rotation of your own key on or off."""
    api_key = get_object_or_404(_keys(request), pk=pk)
    enabled = request.POST.get("auto_rotate") == "on"
    try:
        apikey_set_auto_rotate(actor=as_principal(request), api_key=api_key, enabled=enabled)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"“{api_key.name}” {'now rotates' if enabled else 'no longer rotates'} "
            "automatically a week before it expires.",
        )
    return redirect(_back_url(request))


def _revealing(view):
    """Revealing a secret needs a fresh password (or MFA) confirmation; a key the member cannot see is a 404
    before anything is asked."""
    confirmed = reauthentication_required(view)

    @tenant_view
    @wraps(view)
    def wrapper(request, pk):
        return confirmed(request, get_object_or_404(_keys(request), pk=pk))

    return wrapper


@_revealing
def key_reveal(request, api_key):
    """GET: confirm. POST: show the auto-rotated key once and wipe the portal's encrypted copy."""
    if request.method == "POST":
        try:
            plaintext = apikey_reveal(actor=as_principal(request), api_key=api_key)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(_back_url(request))
        return _created(request, api_key, plaintext, how="revealed")
    context = {"key": api_key, "back": _back_url(request)}
    return render_tenant_page(request, "apikeys/reveal.html", context, section="apikeys")


@tenant_view
def usage(request):
    """The plan, today's and this month's consumption, and usage per day and per key and endpoint.

    Members see their own keys' usage, owners and admins everyone's; `?format=csv` downloads the rows.
    """
    rows = selectors.usage_list_for(as_principal(request), tenant=request.tenant)
    data = request.GET.copy()
    if not data.get("since"):
        data["since"] = (selectors.today_utc() - timedelta(days=USAGE_DEFAULT_DAYS - 1)).isoformat()
    filters = UsageDailyFilterSet(data, queryset=rows)
    filters.form.fields["key"].widget = forms.Select(
        choices=[("", "Any key")] + [(key.pk, f"{key.name} ({key.prefix}…)") for key in _keys(request)]
    )
    if request.GET.get("format") == "csv":
        return selectors.usage_csv_response(filters.qs, name=f"api-usage-{request.tenant.slug}")
    by_day = selectors.usage_by_day(filters.qs)
    chart = {
        "days": [item["day"].isoformat() for item in by_day],
        "requests": [item["requests"] for item in by_day],
        "errors": [item["errors"] for item in by_day],
        "latency_avg": [item["latency_ms_avg"] for item in by_day],
        "latency_p95": [item["latency_ms_p95"] for item in by_day],
    }
    context = {
        "summary": selectors.plan_summary(request.tenant),
        "filters": filters,
        "chart": chart,
        "by_day": by_day,
        "by_endpoint": selectors.usage_by_key_and_endpoint(filters.qs),
        "show_owner": at_least(request.role, Role.ADMIN),
        "query": request.GET.urlencode(),
    }
    return render_tenant_page(request, "apikeys/usage.html", context, section="apikeys")
