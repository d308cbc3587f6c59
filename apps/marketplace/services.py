"""Every write of the marketplace: servers, offerings and plans (operators); instances and bindings (tenants).

Provider calls never run inside a request's transaction with half a row: an instance is provisioned
and deprovisioned by a task holding the row's lock; a binding is made in the request (a role or an
ACL user takes milliseconds) and, when anything after the provider fails, revoked again so no
credential outlives its row. Credentials never reach logs, events, webhooks or the audit trail.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from apps.clusters.kube import KubeError
from apps.core.audit import audit_record
from apps.core.errors import CONFLICT, INVALID, NAME_TAKEN, ApplicationError, require, validate_model
from apps.core.events import emit_on_commit
from apps.core.governance import Change, gate
from apps.core.policies import policy_for
from apps.core.realtime import broadcast_on_commit, tenant_group
from apps.deployments.dispatch import after_commit
from apps.deployments.selectors import live_deployment
from apps.deployments.services import deployment_restart
from apps.tenants.models import Quota
from apps.tenants.principals import Principal
from apps.tenants.quotas import quota_check, register_usage

from .models import (
    BindingState,
    InstanceState,
    ServiceBinding,
    ServiceInstance,
    ServiceOffering,
    ServicePlan,
    SharedServer,
)
from .providers import Operation, Provider, ProviderError, provider_for
from .providers.incluster import InClusterProvider, template_name
from .providers.osb import OsbProvider
from .providers.postgres import PostgresProvider
from .providers.redis import RedisProvider
from .secrets import secret_write

log = logging.getLogger(__name__)

# Refusals, as constants that tests import.
INSTANCE_NOT_READY = "instance_not_ready"
INSTANCE_BOUND = "instance_bound"
INSTANCE_BUSY = "instance_busy"
BINDING_BUSY = "binding_busy"
PROVIDER_FAILED = "provider_failed"
CLUSTER_UNREACHABLE = "cluster_unreachable"
PORTAL_SERVER = "portal_server"

PROVISION_TASK = "apps.marketplace.tasks.provision_instance"
DEPROVISION_TASK = "apps.marketplace.tasks.deprovision_instance"
POLL_TASK = "apps.marketplace.tasks.poll_instance"
BINDING_POLL_TASK = "apps.marketplace.tasks.poll_binding"
RETIRE_TASK = "apps.marketplace.tasks.retire_credential"
POLL_SECONDS = 2
PROVISION_DEADLINE = timedelta(minutes=30)
SWEEP_AFTER = timedelta(minutes=2)
NOT_APPROVED = "Not approved"

# The variables a binding gives its application, per provider kind: credential key -> variable.
ENV_NAMES = {"postgres": {"url": "DATABASE_URL"}, "redis": {"url": "REDIS_URL", "prefix": "REDIS_KEY_PREFIX"}}


def _instances_of(tenant, environment=None) -> int:
    rows = ServiceInstance.objects.filter(tenant=tenant)
    return (rows.filter(environment=environment) if environment is not None else rows).count()


def storage_of(plan: ServicePlan) -> int:
    """The storage a plan sets aside, in MiB (`limits.storage`; 0 for a plan that states none)."""
    return int((plan.limits or {}).get("storage") or 0)


def _storage_of(tenant, environment=None) -> int:
    """The add-on storage a tenant (or one environment) has taken: every instance's plan's `storage`,
    from the moment it is asked for (as a pod's requests count, not its use); removed ones free it."""
    rows = ServiceInstance.objects.filter(tenant=tenant)
    rows = rows.filter(environment=environment) if environment is not None else rows
    return sum(int((limits or {}).get("storage") or 0) for limits in rows.values_list("plan__limits", flat=True))


register_usage(Quota.Resource.ADDONS, _instances_of)
register_usage(Quota.Resource.ADDON_STORAGE, _storage_of)


# --- Servers, offerings and plans (operators) ----------------------------------------------------


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return ("localhost" if host in ("", "127.0.0.1", "::1", "localhost") or host.startswith("/") else host), (
        parts.port or 0
    )


def _portal_endpoints() -> set[tuple[str, int]]:
    """Where the portal's own database and Redis listen: never lent to tenants."""
    database = settings.DATABASES["default"]
    host = (database.get("HOST") or "").lower()
    host = "localhost" if host in ("", "127.0.0.1", "::1", "localhost") or host.startswith("/") else host
    ours = {(host, int(database.get("PORT") or 5432))}
    redis_url = getattr(settings, "REDIS_URL", "")
    if redis_url:
        ours.add((_endpoint(redis_url)[0], _endpoint(redis_url)[1] or 6379))
    return ours


@transaction.atomic
def server_register(*, operator: Principal, name: str, kind: str, admin_url: str) -> SharedServer:
    """Register a shared server after checking the admin URL works (or give a registered one its new
    URL); refuse the portal's own servers."""
    require(operator.is_operator, "Only platform operators register add-on servers.")
    providers: dict[str, tuple[Callable[[str], Provider], int]] = {
        "postgres": (PostgresProvider, 5432),
        "redis": (RedisProvider, 6379),
        "osb": (OsbProvider, 443),
        "incluster": (InClusterProvider, 0),
    }
    if kind not in providers:
        raise ApplicationError(
            "Choose PostgreSQL, Redis, an Open Service Broker or an in-cluster template.", code=INVALID, field="kind"
        )
    provider_class, default_port = providers[kind]
    host, port = _endpoint(admin_url)
    if (host, port or default_port) in _portal_endpoints():
        raise ApplicationError(
            "That is the portal's own server; lend tenants a separate one.", code=PORTAL_SERVER, field="admin_url"
        )
    try:
        version = provider_class(admin_url).check()
    except ProviderError as exc:
        raise ApplicationError(str(exc), code=PROVIDER_FAILED, field="admin_url") from None
    server = SharedServer.objects.filter(name=name).first() or SharedServer(name=name, kind=kind)
    if server.kind != kind:
        raise ApplicationError(f"A server named “{name}” exists.", code=NAME_TAKEN, status=409, field="name")
    server.admin_url = admin_url  # registering a known name again re-addresses it (a moved server)
    validate_model(server, exclude=["name"] if server.pk else None)
    server.save()
    audit_record(actor=operator, action="addon_server.register", obj=server, changes={"version": [None, version]})
    return server


@transaction.atomic
def offering_publish(
    *,
    operator: Principal,
    slug: str,
    name: str,
    server: SharedServer,
    description: str = "",
    is_active: bool = True,
    broker_id: str = "",
) -> ServiceOffering:
    """Publish an offering (or change the one with this slug); its provider is its server's kind."""
    require(operator.is_operator, "Only platform operators publish add-ons.")
    offering = ServiceOffering.objects.filter(slug=slug).first() or ServiceOffering(slug=slug)
    offering.name, offering.description, offering.server, offering.kind = name, description, server, server.kind
    offering.is_active, offering.broker_id = is_active, broker_id
    validate_model(offering, exclude=["slug"] if offering.pk else None)
    offering.save()
    audit_record(actor=operator, action="addon_offering.publish", obj=offering)
    return offering


@transaction.atomic
def plan_publish(
    *,
    operator: Principal,
    offering: ServiceOffering,
    slug: str,
    name: str,
    description: str = "",
    limits: dict | None = None,
    needs_approval: bool = False,
    position: int = 0,
    broker_id: str = "",
) -> ServicePlan:
    """Publish a plan of an offering (or change the one with this slug)."""
    require(operator.is_operator, "Only platform operators publish add-ons.")
    limits = limits or {}
    if limits.get("access", "readwrite") not in ("readwrite", "readonly"):
        raise ApplicationError("Access is readwrite or readonly.", code=INVALID, field="limits")
    storage = limits.get("storage")
    if storage is not None and (isinstance(storage, bool) or not isinstance(storage, int) or storage < 1):
        raise ApplicationError(
            "Storage is a whole number of MiB, at least 1 (it counts against the tenants' add-on storage quota).",
            code=INVALID,
            field="limits",
        )
    plan = ServicePlan.objects.filter(offering=offering, slug=slug).first() or ServicePlan(offering=offering, slug=slug)
    plan.name, plan.description, plan.limits = name, description, limits
    plan.needs_approval, plan.position, plan.broker_id = needs_approval, position, broker_id
    validate_model(plan)
    plan.save()
    audit_record(actor=operator, action="addon_plan.publish", obj=plan)
    return plan


# --- Instances -----------------------------------------------------------------------------------


def _payload(instance: ServiceInstance) -> dict:
    """What events, webhooks and pages hear about an instance: names and states, never credentials."""
    return {
        "id": instance.pk,
        "name": instance.name,
        "offering": instance.offering.slug,
        "plan": instance.plan.slug,
        "environment": instance.environment.name,
        "state": instance.state,
        "last_operation": instance.last_operation,
    }


def _announce(instance: ServiceInstance, event: str | None = None) -> None:
    payload = _payload(instance)
    broadcast_on_commit(tenant_group(instance.tenant_id), {"type": "service_instance", **payload})
    if event:
        emit_on_commit(tenant_id=instance.tenant_id, event=event, data=payload)


@transaction.atomic
def instance_create(
    *,
    actor: Principal,
    tenant,
    environment,
    offering: ServiceOffering,
    plan: ServicePlan,
    name: str,
    justification: str = "",
) -> ServiceInstance:
    """Ask for an add-on: the row is made at once and a task provisions it (`provisioning` then `ready` or
    `failed`); a plan marked for approval, or a governed environment, files a change request first."""
    require(policy_for(ServiceInstance).can_add(actor, tenant), "Developers and above add add-ons.", tenant=tenant)
    if environment.tenant_id != tenant.pk:
        raise ApplicationError("Unknown environment.", code=INVALID, field="environment")
    if not offering.is_active or plan.offering_id != offering.pk:
        raise ApplicationError(f"{offering.name} has no plan “{plan.slug}”.", code=INVALID, field="plan")
    list(type(tenant).objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))
    if ServiceInstance.objects.filter(environment=environment, name=name).exists():
        raise ApplicationError(
            f"An add-on named “{name}” exists in {environment.name}.", code=NAME_TAKEN, status=409, field="name"
        )
    quota_check(tenant=tenant, resource=Quota.Resource.ADDONS, environment=environment)
    if storage_of(plan):
        quota_check(
            tenant=tenant, resource=Quota.Resource.ADDON_STORAGE, environment=environment, adding=storage_of(plan)
        )
    instance = ServiceInstance(
        tenant=tenant,
        environment=environment,
        offering=offering,
        plan=plan,
        name=name,
        created_by=actor.user,
        last_operation="Waiting for the provider",
    )
    validate_model(instance)
    change = Change(
        kind="addon",
        tenant=tenant,
        actor=actor,
        environment=environment,
        params={"offering": offering.slug, "plan": plan.slug, "name": name, "needs_approval": plan.needs_approval},
        title=f"Add {offering.name} ({plan.name}) “{name}” to {environment.name}",
        justification=justification,
    )
    verdict = gate().assess(change)
    if verdict.needs_approval:
        instance.state, instance.last_operation = InstanceState.PENDING_APPROVAL, "Waiting for approval"
    instance.save()
    audit_record(
        actor=actor,
        action="addon.provision",
        obj=instance,
        changes={"offering": [None, offering.slug], "plan": [None, plan.slug], "environment": [None, environment.name]},
    )
    if verdict.needs_approval or verdict.break_glass:
        change.subject = instance
        change.params["instance"] = instance.pk
        gate().open(change, verdict)
    if instance.state == InstanceState.PROVISIONING:
        after_commit(PROVISION_TASK, instance.pk)
    _announce(instance)
    return instance


@transaction.atomic
def instance_approved(*, instance_id: int) -> None:
    """The change request for an instance was approved: provision it now."""
    updated = ServiceInstance.objects.filter(pk=instance_id, state=InstanceState.PENDING_APPROVAL).update(
        state=InstanceState.PROVISIONING, last_operation="Approved; waiting for the provider"
    )
    if updated:
        after_commit(PROVISION_TASK, instance_id)


@transaction.atomic
def instance_declined(*, instance_id: int, reason: str) -> None:
    """The change request was rejected, withdrawn or expired: the instance never existed at the provider."""
    instance = ServiceInstance.objects.filter(pk=instance_id, state=InstanceState.PENDING_APPROVAL).first()
    if instance is not None:
        instance.state, instance.last_operation = InstanceState.FAILED, f"{NOT_APPROVED}: {reason}"[:500]
        instance.save(update_fields=["state", "last_operation", "updated_at"])
        _announce(instance, "service_instance.failed")


def _locked(instance_id: int) -> ServiceInstance | None:
    return (
        ServiceInstance.objects.select_for_update(of=("self",))
        .select_related("tenant", "environment", "offering__server", "plan")
        .filter(pk=instance_id)
        .first()
    )


def _relocked(instance: ServiceInstance) -> ServiceInstance:
    """The instance read again under its row lock; one removed meanwhile is refused, as a binding is."""
    locked = _locked(instance.pk)
    if locked is None:
        raise ApplicationError("Unknown add-on.", code=CONFLICT, status=409)
    return locked


@transaction.atomic
def instance_provision_run(*, instance_id: int) -> None:
    """The task's work: provision under the row's lock, so a second nudge waits and then finds it done.
    A provider that works asynchronously (an Open Service Broker's 202) is polled by a later task."""
    instance = _locked(instance_id)
    if instance is None or instance.state != InstanceState.PROVISIONING:
        return
    provider = provider_for(instance.offering)
    try:
        instance.provider_ref = provider.provision(instance)
        operation = provider.last_operation(instance)
    except ProviderError as exc:
        operation = Operation("failed", str(exc))
    instance.save(update_fields=["provider_ref", "operation", "updated_at"])
    _settle(instance, operation)


@transaction.atomic
def instance_poll_run(*, instance_id: int) -> None:
    """The poll task's work: ask the provider how its asynchronous provisioning, or removal, stands."""
    instance = _locked(instance_id)
    if instance is None or instance.state not in (InstanceState.PROVISIONING, InstanceState.DEPROVISIONING):
        return
    try:
        operation = provider_for(instance.offering).last_operation(instance)
    except ProviderError as exc:
        operation = Operation("in progress", str(exc))  # asked again later; the deadline below ends it
    if instance.state == InstanceState.DEPROVISIONING:
        _settle_removal(instance, operation)
        return
    if operation.state == "in progress" and timezone.now() - instance.created_at > PROVISION_DEADLINE:
        operation = Operation("failed", f"The provider did not finish within {PROVISION_DEADLINE}.")
    _settle(instance, operation)


def _poll_later(task: str, pk: int) -> None:
    transaction.on_commit(lambda: current_app.tasks[task].apply_async((pk,), countdown=POLL_SECONDS))


def _settle(instance: ServiceInstance, operation: Operation) -> None:
    """Record where provisioning stands: ready, failed with the provider's reason, or polled again."""
    if operation.state == "in progress":
        instance.last_operation = (
            f"The provider is working on it{': ' + operation.description if operation.description else ''}"
        )
        instance.save(update_fields=["last_operation", "updated_at"])
        _poll_later(POLL_TASK, instance.pk)
        _announce(instance)
        return
    if operation.state == "failed":
        instance.state, instance.last_operation = InstanceState.FAILED, (operation.description or "Failed")[:500]
        event = "service_instance.failed"
    else:
        instance.state, instance.last_operation = InstanceState.READY, "Provisioned"
        event = "service_instance.ready"
    instance.save(update_fields=["state", "last_operation", "updated_at"])
    audit_record(
        actor=None, action=f"addon.{instance.state}", obj=instance, changes={"state": ["provisioning", instance.state]}
    )
    _announce(instance, event)


def instances_sample_usage() -> int:
    """Sample every ready instance's usage (keys, bytes) for its page; a Redis instance over its plan's
    `keys` limit has its bindings' writes blocked through the ACL until it is under again (Redis has no
    per-user memory limit, so this is how a shared plan's limit holds). Returns how many were sampled."""
    sampled = 0
    rows = ServiceInstance.objects.filter(state=InstanceState.READY).select_related("offering__server", "plan")
    for instance in rows:
        provider = provider_for(instance.offering)
        if not hasattr(provider, "usage"):
            continue
        try:
            usage = provider.usage(instance)
        except ProviderError as exc:
            log.info("addon.usage_unreadable", extra={"instance": instance.pk, "reason": str(exc)})
            continue
        limit = (instance.plan.limits or {}).get("keys")
        blocked = bool(limit is not None and usage.get("keys", 0) > int(limit))
        if hasattr(provider, "limit_writes") and blocked != bool(instance.usage.get("writes_blocked")):
            users = list(instance.bindings.exclude(username="").values_list("username", flat=True))
            try:
                provider.limit_writes(users, blocked=blocked)
            except ProviderError:
                blocked = bool(instance.usage.get("writes_blocked"))  # unchanged; tried again next time
        instance.usage = {**usage, "writes_blocked": blocked, "sampled_at": timezone.now().isoformat()}
        instance.save(update_fields=["usage"])
        sampled += 1
    return sampled


def instances_sweep(*, now=None) -> int:
    """Nudge again every instance whose provisioning, polling or removal has not moved for SWEEP_AFTER:
    a lost Celery message or a worker that died must not leave it waiting forever. The tasks lock the
    row and check its state, so a nudge that races the first one changes nothing. Returns how many."""
    stale = (now or timezone.now()) - SWEEP_AFTER
    rows = ServiceInstance.objects.filter(
        state__in=[InstanceState.PROVISIONING, InstanceState.DEPROVISIONING], updated_at__lt=stale
    ).values_list("pk", "state", "provider_ref")
    for pk, state, ref in rows:
        task = DEPROVISION_TASK if state == InstanceState.DEPROVISIONING else POLL_TASK if ref else PROVISION_TASK
        current_app.tasks[task].delay(pk)
    return len(rows)


@transaction.atomic
def instance_retry(*, operator: Principal, instance: ServiceInstance) -> ServiceInstance:
    """An operator provisions a failed instance again, once its provider is back."""
    require(operator.is_operator, "Only platform operators retry a failed add-on.")
    locked = _locked(instance.pk)
    if locked is None or locked.state != InstanceState.FAILED:
        raise ApplicationError("Only a failed add-on can be retried.", code=CONFLICT, status=409)
    instance = locked
    if instance.last_operation.startswith(NOT_APPROVED):  # retrying must not get round the approval
        raise ApplicationError("It was not approved; the tenant removes it and asks again.", code=CONFLICT, status=409)
    instance.state, instance.last_operation = InstanceState.PROVISIONING, "Retried; waiting for the provider"
    instance.save(update_fields=["state", "last_operation", "updated_at"])
    audit_record(actor=operator, action="addon.retry", obj=instance, tenant=instance.tenant)
    after_commit(PROVISION_TASK, instance.pk)
    _announce(instance)
    return instance


@transaction.atomic
def instance_deprovision(*, actor: Principal, instance: ServiceInstance) -> ServiceInstance:
    """Remove an add-on and its data. Refused (409, naming them) while applications are bound to it."""
    require(
        policy_for(ServiceInstance).can_delete(actor, instance),
        "Developers and above remove add-ons.",
        tenant=instance.tenant,
    )
    instance = _relocked(instance)
    bound = sorted(ServiceBinding.objects.filter(instance=instance).values_list("application__name", flat=True))
    if bound:
        raise ApplicationError(
            f"Unbind {', '.join(bound)} first: {'they are' if len(bound) > 1 else 'it is'} bound to {instance.name}.",
            code=INSTANCE_BOUND,
            status=409,
        )
    if instance.state in (InstanceState.PROVISIONING, InstanceState.DEPROVISIONING):
        raise ApplicationError(
            f"{instance.name} is {instance.get_state_display().lower()}; wait until it is done.",
            code=INSTANCE_BUSY,
            status=409,
        )
    if instance.state == InstanceState.PENDING_APPROVAL:
        gate().withdraw(instance, f"The add-on {instance.name} was removed.")
    instance.state, instance.last_operation = InstanceState.DEPROVISIONING, "Removing at the provider"
    instance.save(update_fields=["state", "last_operation", "updated_at"])
    audit_record(actor=actor, action="addon.deprovision", obj=instance)
    after_commit(DEPROVISION_TASK, instance.pk)
    _announce(instance)
    return instance


@transaction.atomic
def instance_deprovision_run(*, instance_id: int) -> None:
    """The task's work: remove at the provider, then the row; a provider failure leaves the row failed
    with why; a provider that removes asynchronously (an Open Service Broker's 202) is polled."""
    instance = _locked(instance_id)
    if instance is None or instance.state != InstanceState.DEPROVISIONING:
        return
    try:
        operation = provider_for(instance.offering).deprovision(instance)
    except ProviderError as exc:
        operation = Operation("failed", str(exc))
    _settle_removal(instance, operation)


def _settle_removal(instance: ServiceInstance, operation: Operation) -> None:
    if operation.state == "in progress":
        instance.last_operation = (
            f"The provider is removing it{': ' + operation.description if operation.description else ''}"
        )[:500]
        instance.save(update_fields=["last_operation", "operation", "updated_at"])
        _poll_later(POLL_TASK, instance.pk)
        _announce(instance)
        return
    if operation.state == "failed":
        instance.state, instance.last_operation = (
            InstanceState.FAILED,
            f"Removing failed: {operation.description}"[:500],
        )
        instance.save(update_fields=["state", "last_operation", "updated_at"])
        _announce(instance, "service_instance.failed")
        return
    payload = {**_payload(instance), "state": "deprovisioned", "last_operation": "Removed"}
    audit_record(actor=None, action="addon.deprovisioned", obj=instance, tenant=instance.tenant)
    tenant_id = instance.tenant_id
    instance.delete()
    broadcast_on_commit(tenant_group(tenant_id), {"type": "service_instance", **payload})
    emit_on_commit(tenant_id=tenant_id, event="service_instance.deprovisioned", data=payload)


# --- Bindings ------------------------------------------------------------------------------------


def _env_prefix(instance: ServiceInstance, application) -> str:
    """Empty for the application's first add-on of a kind in an environment; the instance's name after that."""
    same_kind = ServiceBinding.objects.filter(
        application=application,
        instance__environment=instance.environment,
        instance__offering__kind=instance.offering.kind,
    )
    return f"{instance.name.upper().replace('-', '_')}_" if same_kind.exists() else ""


def _variables(binding: ServiceBinding, details: dict[str, str]) -> dict[str, str]:
    """The environment variables of a binding: DATABASE_URL, REDIS_URL ... for the built-in providers; a
    broker's credentials as <OFFERING>_<KEY> (a "uri" of offering "mq" becomes MQ_URI)."""
    offering = binding.instance.offering
    kind = template_name(offering.server.admin_url) if offering.kind == "incluster" else offering.kind
    names = ENV_NAMES.get(kind)
    if names is not None:
        return {f"{binding.env_prefix}{names[key]}": value for key, value in details.items() if key in names}
    base = binding.instance.offering.slug.upper().replace("-", "_")
    return {f"{binding.env_prefix}{base}_{key.upper().replace('-', '_')}": value for key, value in details.items()}


def _binding_payload(binding: ServiceBinding) -> dict:
    return {
        "id": binding.pk,
        "instance": binding.instance_id,
        "instance_name": binding.instance.name,
        "application": binding.application.name,
        "environment": binding.instance.environment.name,
        "env_prefix": binding.env_prefix,
    }


def _binding_locked(binding_id: int) -> ServiceBinding | None:
    return (
        ServiceBinding.objects.select_for_update(of=("self",))
        .select_related(
            "tenant", "instance__offering__server", "instance__environment__tenant", "instance__plan", "application"
        )
        .filter(pk=binding_id)
        .first()
    )


def binding_create(*, actor: Principal, instance: ServiceInstance, application) -> tuple[ServiceBinding, dict]:
    """Give an application its own credential for a ready instance and write it to the environment's
    Secret. Returns the binding and its variables (for the one response that shows them); a provider
    that binds asynchronously leaves the binding `binding` with no variables yet, and a task polls it.

    The credential's name is saved (committed) before the provider is called: a process that dies
    after the provider made it leaves a `binding` row naming it, which the sweeper revokes."""
    require(
        policy_for(ServiceBinding).can_add(actor, instance.tenant),
        "Developers and above bind add-ons.",
        tenant=instance.tenant,
    )
    if application.tenant_id != instance.tenant_id:
        raise ApplicationError("Unknown application.", code=INVALID, field="application")
    with transaction.atomic():
        instance = _relocked(instance)
        if instance.state != InstanceState.READY:
            raise ApplicationError(
                f"{instance.name} is {instance.get_state_display().lower()}, not ready.",
                code=INSTANCE_NOT_READY,
                status=409,
            )
        if ServiceBinding.objects.filter(instance=instance, application=application).exists():
            raise ApplicationError(
                f"{application.name} is bound to {instance.name} already.", code=NAME_TAKEN, status=409
            )
        provider = provider_for(instance.offering)
        binding = ServiceBinding.objects.create(
            tenant=instance.tenant,
            instance=instance,
            application=application,
            env_prefix=_env_prefix(instance, application),
            created_by=actor.user,
            last_operation="Asking the provider",
        )
        binding.username = provider.credential_name(binding)
        binding.save(update_fields=["username"])
    try:
        details = provider.bind(binding)
    except ProviderError as exc:
        binding.delete()
        raise ApplicationError(str(exc), code=PROVIDER_FAILED, status=502) from None
    if details is None:  # the provider works on it; a task polls until it is done
        with transaction.atomic():
            binding.last_operation = "The provider is working on it"
            binding.save(update_fields=["last_operation", "operation", "updated_at"])
            _audit_bind(actor, binding)
            _poll_later(BINDING_POLL_TASK, binding.pk)
        return binding, {}
    try:
        with transaction.atomic():
            variables = _binding_ready(binding, details, provider)
            _audit_bind(actor, binding)
    except (KubeError, _Vanished) as exc:
        _revoke_quietly(provider, binding)
        ServiceBinding.objects.filter(pk=binding.pk).delete()
        raise ApplicationError(
            f"The cluster did not take the credentials ({exc}); nothing was bound."
            if isinstance(exc, KubeError)
            else "The binding was given up while the provider worked on it; nothing was bound.",
            code=CLUSTER_UNREACHABLE if isinstance(exc, KubeError) else CONFLICT,
            status=503 if isinstance(exc, KubeError) else 409,
        ) from None
    return binding, variables


class _Vanished(Exception):
    """The binding's row was removed (or moved on) while the provider worked on it."""


def _binding_ready(binding: ServiceBinding, details: dict[str, str], provider) -> dict[str, str]:
    """Inside a transaction: the provider made the credential; store it, mark the binding ready and
    write the Secret (a KubeError rolls this back). Returns the variables."""
    locked = _binding_locked(binding.pk)
    if locked is None or locked.state != BindingState.BINDING or locked.username != binding.username:
        raise _Vanished()
    variables = _variables(locked, details)
    if locked.instance.usage.get("writes_blocked") and hasattr(provider, "limit_writes"):
        with contextlib.suppress(ProviderError):  # the next sample blocks it otherwise
            provider.limit_writes([locked.username], blocked=True)
    locked.credentials, locked.state, locked.last_operation = variables, BindingState.READY, "Bound"
    locked.save(update_fields=["credentials_encrypted", "state", "last_operation", "updated_at"])
    secret_write(application=locked.application, environment=locked.instance.environment)
    emit_on_commit(tenant_id=locked.tenant_id, event="service_binding.created", data=_binding_payload(locked))
    binding.state, binding.last_operation = locked.state, locked.last_operation
    return variables


def _audit_bind(actor, binding: ServiceBinding) -> None:
    audit_record(
        actor=actor,
        action="addon.bind",
        obj=binding,
        changes={"application": [None, binding.application.name], "instance": [None, binding.instance.name]},
    )


def _revoke_quietly(provider, binding: ServiceBinding) -> None:
    try:
        provider.unbind(binding)
    except ProviderError:
        log.warning("addon.unbind_failed", extra={"binding": binding.pk})


@transaction.atomic
def binding_poll_run(*, binding_id: int) -> None:
    """The poll task's work, under the binding's lock: how the provider's asynchronous bind or unbind
    stands. A bind that succeeded is fetched and written to the Secret; one that failed (or that a
    synchronous provider left behind when its request died) is revoked and forgotten; an unbind that
    finished removes the row."""
    binding = _binding_locked(binding_id)
    if binding is None or binding.state == BindingState.READY:
        return
    provider = provider_for(binding.instance.offering)
    try:
        operation = provider.binding_last_operation(binding)
    except ProviderError as exc:
        operation = Operation("in progress", str(exc))
    if operation.state == "in progress" and timezone.now() - binding.created_at > PROVISION_DEADLINE:
        operation = Operation("failed", f"The provider did not finish within {PROVISION_DEADLINE}.")
    if binding.state == BindingState.UNBINDING:
        _settle_unbind(binding, operation)
        return
    if operation.state == "succeeded":
        try:
            details = provider.binding_details(binding)
        except ProviderError as exc:
            operation = Operation("failed", str(exc))
    if operation.state == "succeeded":
        try:
            with transaction.atomic():
                _binding_ready(binding, details, provider)
        except KubeError as exc:  # the cluster is away: asked again, until the deadline
            operation = Operation("in progress", f"waiting for the cluster ({exc})")
        else:
            return
    if operation.state == "in progress":
        binding.last_operation = f"The provider is working on it: {operation.description}".rstrip(": ")[:500]
        binding.save(update_fields=["last_operation", "updated_at"])
        _poll_later(BINDING_POLL_TASK, binding.pk)
        return
    # failed: revoke whatever the provider made of it (orphan mitigation), then forget it
    _revoke_quietly(provider, binding)
    audit_record(actor=None, action="addon.bind_failed", obj=binding, changes={"reason": [None, operation.description]})
    binding.delete()


def _settle_unbind(binding: ServiceBinding, operation: Operation) -> None:
    if operation.state == "in progress":
        binding.last_operation = f"The provider is revoking it: {operation.description}".rstrip(": ")[:500]
        binding.save(update_fields=["last_operation", "updated_at"])
        _poll_later(BINDING_POLL_TASK, binding.pk)
        return
    if operation.state == "failed":  # still bound: its credential works, so the Secret holds it again
        binding.state, binding.last_operation = BindingState.READY, f"Unbinding failed: {operation.description}"[:500]
        binding.save(update_fields=["state", "last_operation", "updated_at"])
        _rewrite_secret(binding)
        return
    payload = _binding_payload(binding)
    binding.delete()
    emit_on_commit(tenant_id=binding.tenant_id, event="service_binding.deleted", data=payload)


def _rewrite_secret(binding: ServiceBinding) -> None:
    try:
        secret_write(application=binding.application, environment=binding.instance.environment)
    except KubeError as exc:
        log.warning("addon.secret_not_rewritten", extra={"application": binding.application_id, "error": str(exc)})


def binding_rotate(*, actor: Principal, binding: ServiceBinding) -> tuple[ServiceBinding, dict]:
    """Give the binding a new credential and keep the old one working for ADDON_ROTATION_OVERLAP_SECONDS:
    the Secret takes the new one, the running pods are restarted onto it, and a task then revokes the
    old. Returns the binding and its new variables (for the one response that shows them).

    The new credential's name is saved (`pending_username`, committed) before the provider makes it,
    so a rotation cut off half-way leaves a name the sweeper revokes."""
    require(
        policy_for(ServiceBinding).can_change(actor, binding),
        "Developers and above rotate credentials.",
        tenant=binding.tenant,
    )
    with transaction.atomic():
        locked = _binding_locked(binding.pk)
        if locked is None or locked.state != BindingState.READY or locked.pending_username:
            raise ApplicationError("The binding is busy; try again in a moment.", code=BINDING_BUSY, status=409)
        binding = locked
        if binding.retiring_username:
            raise ApplicationError(
                "A rotation is still overlapping; rotate again once the old credential is revoked.",
                code=CONFLICT,
                status=409,
            )
        if binding.instance.offering.kind == "incluster":
            raise ApplicationError(
                "An in-cluster add-on has one password for every binding; it cannot be rotated for one of them.",
                code=CONFLICT,
                status=409,
            )
        provider = provider_for(binding.instance.offering)
        binding.pending_username = provider.credential_name(binding)
        binding.save(update_fields=["pending_username", "updated_at"])
    pending = _as_user(binding, binding.pending_username)
    try:
        details = provider.bind(pending)
    except ProviderError as exc:
        ServiceBinding.objects.filter(pk=binding.pk, pending_username=pending.username).update(pending_username="")
        raise ApplicationError(str(exc), code=PROVIDER_FAILED, status=502) from None
    if details is None:  # left pending: the sweeper revokes it once the broker is done with it
        raise ApplicationError(
            "This add-on's broker makes credentials asynchronously; unbind and bind again for new ones.",
            code=CONFLICT,
            status=409,
        )
    try:
        with transaction.atomic():
            locked = _binding_locked(binding.pk)
            if locked is None or locked.pending_username != pending.username:
                raise _Vanished()
            binding = locked
            old = binding.username
            binding.username, binding.retiring_username, binding.pending_username = pending.username, old, ""
            binding.credentials = _variables(binding, details)
            binding.save(update_fields=["username", "retiring_username", "pending_username", "credentials_encrypted"])
            secret_write(application=binding.application, environment=binding.instance.environment)
            audit_record(actor=actor, action="addon.rotate", obj=binding, changes={"credentials": ["old", "new"]})
            emit_on_commit(tenant_id=binding.tenant_id, event="service_binding.rotated", data=_binding_payload(binding))
            transaction.on_commit(
                lambda: current_app.tasks[RETIRE_TASK].apply_async(
                    (binding.pk, old), countdown=settings.ADDON_ROTATION_OVERLAP_SECONDS
                )
            )
    except (KubeError, _Vanished) as exc:
        _revoke_quietly(provider, pending)
        ServiceBinding.objects.filter(pk=pending.pk, pending_username=pending.username).update(pending_username="")
        raise ApplicationError(
            f"The cluster did not take the new credentials ({exc}); nothing changed."
            if isinstance(exc, KubeError)
            else "The binding changed while the provider worked; nothing changed.",
            code=CLUSTER_UNREACHABLE if isinstance(exc, KubeError) else CONFLICT,
            status=503 if isinstance(exc, KubeError) else 409,
        ) from None
    _restart_onto_new_credentials(actor, binding)
    return binding, binding.credentials


def _as_user(binding: ServiceBinding, username: str) -> ServiceBinding:
    """The binding as it was under another of its credentials, for the provider to revoke that one."""
    other = copy.copy(binding)
    other.username = username
    return other


def _restart_onto_new_credentials(actor: Principal, binding: ServiceBinding) -> None:
    """Restart the running pods, one by one, so they read the new Secret while the old credential still
    works; where nothing runs (or the restart waits for approval) the next deployment picks it up."""
    live = live_deployment(binding.application, binding.instance.environment)
    if live is None:
        return
    try:
        deployment_restart(actor=actor, deployment=live, justification="Add-on credentials rotated")
    except ApplicationError as exc:
        log.info("addon.rotate_restart_skipped", extra={"binding": binding.pk, "reason": exc.message})


@transaction.atomic
def binding_retire_credential(*, binding_id: int, username: str) -> None:
    """After a rotation's overlap: revoke the credential it replaced (a failure is retried by the task)."""
    binding = (
        ServiceBinding.objects.select_for_update(of=("self",))
        .select_related("instance__offering__server", "instance__plan")
        .filter(pk=binding_id, retiring_username=username)
        .first()
    )
    if binding is None:
        return
    provider_for(binding.instance.offering).unbind(_as_user(binding, username))
    binding.retiring_username = ""
    binding.save(update_fields=["retiring_username"])


def binding_delete(*, actor: Principal, binding: ServiceBinding) -> ServiceBinding:
    """Revoke the binding's credential at the provider first, then forget it and rewrite the Secret.
    A provider that revokes asynchronously leaves the binding `unbinding` (its variables already gone
    from the Secret) until a task sees the provider done. Returns the binding as it was left."""
    require(
        policy_for(ServiceBinding).can_delete(actor, binding),
        "Developers and above unbind add-ons.",
        tenant=binding.tenant,
    )
    with transaction.atomic():
        locked = _binding_locked(binding.pk)
        if locked is None:
            raise ApplicationError("Unknown binding.", code=CONFLICT, status=409)
        binding = locked
        if binding.state != BindingState.READY:
            raise ApplicationError(
                f"{binding.application.name}'s binding to {binding.instance.name} is "
                f"{binding.get_state_display().lower()}; wait until it is done.",
                code=BINDING_BUSY,
                status=409,
            )
        provider = provider_for(binding.instance.offering)
        try:
            operation = provider.unbind(binding)
            for other in (binding.retiring_username, binding.pending_username):  # a rotation's other credentials
                if other:
                    provider.unbind(_as_user(binding, other))
        except ProviderError as exc:
            raise ApplicationError(str(exc), code=PROVIDER_FAILED, status=502) from None
        audit_record(
            actor=actor, action="addon.unbind", obj=binding, changes={"application": [binding.application.name, None]}
        )
        if operation.state == "in progress":
            binding.state, binding.last_operation = BindingState.UNBINDING, "The provider is revoking it"
            binding.retiring_username = binding.pending_username = ""
            binding.save(
                update_fields=[
                    "state",
                    "last_operation",
                    "operation",
                    "retiring_username",
                    "pending_username",
                    "updated_at",
                ]
            )
            _poll_later(BINDING_POLL_TASK, binding.pk)
        else:
            payload = _binding_payload(binding)
            binding.delete()
            emit_on_commit(tenant_id=binding.tenant_id, event="service_binding.deleted", data=payload)
    # revoked already; should this fail, the stale Secret holds a credential that no longer works
    _rewrite_secret(binding)
    return binding


def bindings_sweep(*, now=None) -> int:
    """Nudge every binding whose bind, unbind or rotation has not moved for SWEEP_AFTER: an asynchronous
    one is polled again, one a dead request left half-made is revoked (through the same poll, which a
    synchronous provider answers "interrupted"), and a rotation's half-made credential is revoked.
    Returns how many."""
    stale = (now or timezone.now()) - SWEEP_AFTER
    rows = list(
        ServiceBinding.objects.filter(updated_at__lt=stale)
        .filter(models.Q(state__in=[BindingState.BINDING, BindingState.UNBINDING]) | ~models.Q(pending_username=""))
        .values_list("pk", "state")
    )
    for pk, state in rows:
        if state == BindingState.READY:
            binding_abandon_rotation(binding_id=pk)
        else:
            current_app.tasks[BINDING_POLL_TASK].delay(pk)
    return len(rows)


@transaction.atomic
def binding_abandon_rotation(*, binding_id: int) -> None:
    """A rotation that never finished: revoke the credential it was making (the old one stays)."""
    binding = _binding_locked(binding_id)
    if binding is None or not binding.pending_username:
        return
    try:
        provider_for(binding.instance.offering).unbind(_as_user(binding, binding.pending_username))
    except ProviderError as exc:
        log.info("addon.pending_not_revoked", extra={"binding": binding.pk, "reason": str(exc)})
        return  # tried again on the next sweep
    binding.pending_username = ""
    binding.save(update_fields=["pending_username", "updated_at"])
