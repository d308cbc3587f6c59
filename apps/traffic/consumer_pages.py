"""The consumer keys page, under /t/<tenant_slug>/consumers/: the keys a tenant gives the consumers of its own
APIs (checked by the gateway on routes with `auth=api_key`) and the usage plans that limit them.

Every member sees the keys (never a key itself after the page that answers its creation) and the plans;
owners and admins create and revoke keys and manage plans. Views parse input, call one service of
consumer_keys.py, and render."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.apikeys import ratelimit
from apps.core import once
from apps.core.errors import ApplicationError
from apps.core.policies import policy_for
from apps.tenants.pages import render_tenant_page, require_role, tenant_view
from apps.tenants.principals import as_principal
from apps.tenants.roles import Role

from . import consumer_keys, gateway
from .forms import ConsumerKeyForm, UsagePlanForm
from .models import ConsumerKey, Route, UsagePlan

SECTION = "consumers"
LIST_LENGTH = 200  # newest first; the API lists every key


def _plans(request):
    return UsagePlan.objects.restrict(request, "view").filter(tenant=request.tenant).order_by("name", "id")


def _keys(request):
    return (
        ConsumerKey.objects.restrict(request, "view")
        .filter(tenant=request.tenant)
        .select_related("usage_plan", "created_by")
        .order_by("-id")
    )


def _key_form(request, data=None) -> ConsumerKeyForm:
    return ConsumerKeyForm(
        data,
        auto_id="key-%s",  # the page has a plan form too, with a name of its own
        tenant=request.tenant,
        plans=_plans(request),
        default_plan=f"{gateway.DEFAULT_PLAN} (platform limits)",
    )


def _plan_form(data=None) -> UsagePlanForm:
    return UsagePlanForm(data, auto_id="plan-%s")


def _require_manager(request) -> None:
    require_role(
        request,
        policy_for(ConsumerKey).can_add(request, request.tenant),
        needs=Role.ADMIN,
        doing="Managing consumer keys and usage plans",
    )


def _protected_routes(request):
    return (
        Route.objects.restrict(request, "view")
        .filter(tenant=request.tenant, auth=Route.Auth.API_KEY)
        .order_by("host", "path")
    )


def _with_calls(keys: list[ConsumerKey]) -> bool:
    """Give each key its plan's limits and its calls counted today and this month (`calls`, from the
    gateway's counters in Redis); False when Redis could not be asked."""
    counts = ratelimit.consumer_consumption([key.pk for key in keys])
    for key in keys:
        key.limits = gateway.limits_of(key.usage_plan)
        key.calls = counts.get(key.pk) if counts is not None else None
    return counts is not None


def _page(request, *, key_form=None, plan_form=None):
    keys = _keys(request)
    shown = list(keys[:LIST_LENGTH])
    now = timezone.now()
    live = Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=now))  # a key's
    live_on_plan = Q(consumer_keys__revoked_at=None) & (
        Q(consumer_keys__expires_at=None) | Q(consumer_keys__expires_at__gt=now)
    )
    context = {
        "keys": shown,
        "calls_read": _with_calls(shown),
        "key_count": keys.count(),
        "list_length": LIST_LENGTH,
        "plans": _plans(request).annotate(
            key_count=Count("consumer_keys"), live_keys=Count("consumer_keys", filter=live_on_plan)
        ),
        "live_keys_without_plan": keys.filter(live, usage_plan=None).count(),
        "key_form": key_form or _key_form(request),
        "plan_form": plan_form or _plan_form(),
        "default_limits": settings.CONSUMER_KEY_DEFAULT_LIMITS,
        "default_plan": gateway.DEFAULT_PLAN,
        "protected_routes": _protected_routes(request).count(),
        "may_manage": policy_for(ConsumerKey).can_add(request, request.tenant),
        "may_revoke": policy_for(ConsumerKey).allows(request, "delete", request.tenant),
        "once": once.token(),
    }
    refused = request.method == "POST"
    return render_tenant_page(
        request, "traffic/consumers.html", context, section=SECTION, status=400 if refused else 200
    )


def _back(request, anchor: str = ""):
    url = reverse("consumers:list", kwargs={"tenant_slug": request.tenant.slug})
    return redirect(f"{url}#{anchor}" if anchor else url)


ONCE = "consumer-key"


def _act(request, service, done: str, **arguments):
    """One change from a button of the list: the service's refusal, or `done`, said there."""
    try:
        service(actor=as_principal(request), **arguments)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back(request)


@tenant_view
def consumers(request):
    """GET: the tenant's consumer keys and usage plans. POST: create a key, shown once."""
    if request.method != "POST":
        return _page(request)
    _require_manager(request)
    if not once.claim(request, ONCE):  # sent again: a reload of the page that showed the key, Back, a double click
        messages.warning(request, once.key_made_already(once.made(request, ONCE)))
        return _back(request)
    form = _key_form(request, request.POST)
    made = form.submit(consumer_keys.consumer_key_create, actor=as_principal(request), tenant=request.tenant)
    if made is not None:
        consumer_key, plaintext = made
        once.remember(request, ONCE, [consumer_key.name, consumer_key.prefix])
        context = {
            "key": consumer_key,
            "plaintext": plaintext,
            "limits": gateway.limits_of(consumer_key.usage_plan),
            "route": _protected_routes(request).first(),
        }
        # The only page that ever shows the key: no browser or proxy may keep a copy.
        response = render_tenant_page(request, "traffic/consumer_key_created.html", context, section=SECTION)
        add_never_cache_headers(response)
        return response
    once.release(request, ONCE)
    return _page(request, key_form=form)


@tenant_view
@require_POST
def key_revoke(request, pk):
    consumer_key = get_object_or_404(_keys(request), pk=pk)
    require_role(  # not _require_manager: revoking goes on in a suspended tenant
        request,
        policy_for(ConsumerKey).can_delete(request, consumer_key),
        needs=Role.ADMIN,
        doing="Revoking consumer keys",
    )
    done = f"Consumer key “{consumer_key.name}” ({consumer_key.prefix}…) is revoked; the gateway refuses it now."
    return _act(request, consumer_keys.consumer_key_revoke, done, consumer_key=consumer_key)


@tenant_view
def plan_create(request):
    if request.method != "POST":  # the address a refused form was sent to, opened again
        return _back(request, "add-usage-plan")
    _require_manager(request)
    form = _plan_form(request.POST)
    plan = form.submit(consumer_keys.usage_plan_create, actor=as_principal(request), tenant=request.tenant)
    if plan is not None:
        messages.success(request, f"Usage plan “{plan.name}” added; give it to a key above.")
        return _back(request)
    return _page(request, plan_form=form)


@tenant_view
def plan_edit(request, pk):
    """GET: the plan's form. POST: change it; its keys are held to the new numbers from their next call."""
    plan = get_object_or_404(_plans(request), pk=pk)
    _require_manager(request)
    form = UsagePlanForm(request.POST if request.method == "POST" else None, initial=UsagePlanForm.initial_from(plan))
    saved = form.submit(consumer_keys.usage_plan_update, actor=as_principal(request), plan=plan)  # None unless sent
    if saved is not None:
        messages.success(request, f"Usage plan “{saved.name}” saved; its keys are held to it from their next call.")
        return _back(request)
    context = {"plan": plan, "form": form, "keys_on_plan": _keys(request).filter(usage_plan=plan).count()}
    status = 400 if request.method == "POST" else 200
    return render_tenant_page(request, "traffic/usage_plan_edit.html", context, section=SECTION, status=status)


@tenant_view
@require_POST
def plan_delete(request, pk):
    plan = get_object_or_404(_plans(request), pk=pk)
    _require_manager(request)
    return _act(request, consumer_keys.usage_plan_delete, f"Usage plan “{plan.name}” deleted.", plan=plan)
