"""Every change to the catalog: applications, their immutable releases, and service templates.

Each service checks the policy, validates, writes its rows and one audit event in one transaction,
and raises ApplicationError with a stable code, naming the field, when it refuses.
"""

from __future__ import annotations

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from apps.core.audit import audit_record, diff
from apps.core.errors import CONFLICT, NAME_TAKEN, ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.claims import host_claim
from apps.tenants.models import SLUG_VALIDATOR, Membership, Quota, Tenant
from apps.tenants.principals import Principal
from apps.tenants.quotas import quota_check, register_usage

from .images import image_check
from .models import Application, ComponentKind, Release, ServiceTemplate
from .parameters import parameters_check, release_fields, schema_check
from .policies import template_policy
from .validation import RELEASE_FIELDS, SPEC_DEFAULTS, refuse, release_spec

# Refusals, as constants that tests import.
TEMPLATE_RETIRED = "template_retired"
KIND_MISMATCH = "kind_mismatch"

# /t/<slug>/apps/new/ is the new-application page, so no application may be called "new"; the traffic
# app's maintenance server takes the objects called paas-maintenance in each namespace.
RESERVED_NAMES = {"new", "paas-maintenance"}
UNCHANGED = object()
PLACEHOLDER_IMAGE = "registry.example.com/placeholder:1"
_URL = URLValidator(schemes=["http", "https"])


def _applications_of(tenant: Tenant, environment=None) -> int:
    return Application.objects.filter(tenant=tenant).count()


register_usage(Quota.Resource.APPLICATIONS, _applications_of)


# --- Applications ------------------------------------------------------------------------------


def _check_details(application: Application) -> None:
    """The fields a person edits: description, team, owner (a member of the tenant) and repository."""
    if len(application.team) > 100:
        raise refuse("team", "Keep the team name to 100 characters.")
    if application.repository_url:
        try:
            _URL(application.repository_url)
        except ValidationError:
            raise refuse(
                "repository_url",
                "Give the repository as an http(s) URL, for example https://github.com/acme/storefront.",
            ) from None
    owner = application.owner
    if owner is not None and not Membership.objects.filter(tenant_id=application.tenant_id, user=owner).exists():
        raise refuse("owner", f"The owner must be a member of {application.tenant.name}.")


def _check_name(application: Application) -> None:
    try:
        SLUG_VALIDATOR(application.name)
    except ValidationError as exc:
        raise refuse("name", exc.messages[0]) from None
    if application.name in RESERVED_NAMES:
        raise refuse("name", f"“{application.name}” is reserved by the portal; choose another name.")
    if Application.objects.filter(tenant_id=application.tenant_id, name=application.name).exists():
        raise ApplicationError(
            f"There is already an application called “{application.name}”.", code=NAME_TAKEN, field="name"
        )


def _kind(component_kind: str, template: ServiceTemplate | None) -> str:
    if component_kind and component_kind not in ComponentKind.values:
        raise refuse(
            "component_kind", f"“{component_kind}” is not a kind; use one of {', '.join(ComponentKind.values)}."
        )
    if template is not None and component_kind and component_kind != template.component_kind:
        raise ApplicationError(
            f"{template} makes a {template.get_component_kind_display().lower()}, not a "
            f"{ComponentKind(component_kind).label.lower()}.",
            code=KIND_MISMATCH,
            field="component_kind",
        )
    return template.component_kind if template is not None else component_kind or ComponentKind.WEB


def _first_release_fields(template: ServiceTemplate, parameters: dict, kind: str) -> dict | None:
    """The checked fields of release #1, or None when neither the template nor a parameter gives an image."""
    fields, origin = release_fields(template.defaults, parameters)
    if not fields.get("image"):
        return None
    try:
        return release_spec(fields, kind)
    except ApplicationError as exc:
        errors: dict[str, list[str]] = {}
        for field, messages in exc.errors.items():
            if field in origin:
                errors[f"parameters.{origin[field]}"] = messages
            else:
                errors.setdefault("template", []).extend(
                    f"The template's default {field} is not valid: {message}" for message in messages
                )
        raise ApplicationError.invalid(errors) if errors else exc from None


def _from_template(application: Application, template: ServiceTemplate, parameters: dict) -> dict | None:
    """Record the template version and the checked parameters on the application; return release #1's
    fields when an image is known."""
    if not template.is_active:
        raise ApplicationError(
            f"{template} is retired; choose a current template.", code=TEMPLATE_RETIRED, field="template"
        )
    application.template = template
    application.template_parameters = parameters_check(template.parameter_schema, parameters)
    return _first_release_fields(template, application.template_parameters, application.component_kind)


def _lock(tenant: Tenant) -> None:
    """Hold the tenant row until commit: one application creation at a time keeps the quota exact."""
    list(Tenant.objects.select_for_update().order_by().filter(pk=tenant.pk).values_list("pk", flat=True))


@transaction.atomic
def application_create(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    component_kind: str = "",
    description: str = "",
    team: str = "",
    owner=None,
    repository_url: str = "",
    template: ServiceTemplate | None = None,
    parameters: dict | None = None,
) -> Application:
    """Register an application, from scratch or from a service template; it counts against the
    tenant's "applications" quota.

    From a template, the parameters are checked against its schema and recorded with the exact
    template version, and when an image is known release #1 is cut from the template's defaults
    overridden by the parameters.
    """
    require(policy_for(Application).can_add(actor, tenant), tenant=tenant)
    _lock(tenant)
    application = Application(
        tenant=tenant,
        name=(name or "").strip().lower(),
        description=(description or "").strip(),
        team=(team or "").strip(),
        owner=owner,
        repository_url=(repository_url or "").strip(),
        component_kind=_kind(component_kind, template),
    )
    _check_name(application)
    _check_details(application)
    first = _from_template(application, template, parameters or {}) if template is not None else None
    quota_check(tenant=tenant, resource=Quota.Resource.APPLICATIONS)
    application.save()
    changes: dict[str, list] = {"name": [None, application.name], "component_kind": [None, application.component_kind]}
    if template is not None:
        changes["template"] = [None, f"{template.slug} v{template.version}"]
    if first is not None:
        _release_save(actor, application, first, number=1)
        changes["release"] = [None, 1]
    audit_record(actor=actor, action="application.create", obj=application, changes=changes)
    return application


MAX_KEEP_IMAGE_TAGS = 1000


@transaction.atomic
def application_update(
    *,
    actor: Principal,
    application: Application,
    description: str | None = None,
    team: str | None = None,
    owner=UNCHANGED,
    repository_url: str | None = None,
    keep_image_tags=UNCHANGED,
) -> Application:
    """Change what people read about an application, and how many of its image tags the platform
    registry keeps (None: the operators' default). Its name and kind never change: they name its
    objects in every cluster it runs in."""
    require(policy_for(Application).can_change(actor, application), tenant=application.tenant)
    before = _details(application)
    if description is not None:
        application.description = description.strip()
    if team is not None:
        application.team = team.strip()
    if owner is not UNCHANGED:
        application.owner = owner
    if repository_url is not None:
        application.repository_url = repository_url.strip()
    if keep_image_tags is not UNCHANGED:
        if keep_image_tags is not None and not 1 <= keep_image_tags <= MAX_KEEP_IMAGE_TAGS:
            raise refuse("keep_image_tags", f"Keep between 1 and {MAX_KEEP_IMAGE_TAGS} tags, or leave it empty.")
        application.keep_image_tags = keep_image_tags
    _check_details(application)
    application.save(update_fields=["description", "team", "owner", "repository_url", "keep_image_tags"])
    audit_record(actor=actor, action="application.update", obj=application, changes=diff(before, _details(application)))
    return application


def _details(application: Application) -> dict:
    owner = application.owner.email if application.owner is not None else None
    return {
        "description": application.description,
        "team": application.team,
        "owner": owner,
        "repository_url": application.repository_url,
        "keep_image_tags": application.keep_image_tags,
    }


# --- Releases ----------------------------------------------------------------------------------


def _release_save(actor: Principal, application: Application, spec: dict, *, number: int) -> Release:
    """Save a release; its image must be one the operators allow (apps/catalog/images.py), and its
    ingress host is claimed for the tenant first (refused when it is not theirs)."""
    image_check(spec["image"], application.tenant.slug)
    if spec.get("ingress_host"):
        spec = {**spec, "ingress_host": host_claim(tenant=application.tenant, host=spec["ingress_host"]).host}
    return Release.objects.create(
        tenant_id=application.tenant_id,
        application=application,
        number=number,
        created_by=actor.user,
        **spec,
    )


@transaction.atomic
def release_create(*, actor: Principal, application: Application, **fields) -> Release:
    """Cut the application's next release from `fields` (any of the release fields; the rest take
    their defaults). Numbers follow one another per application, taken under a lock on it."""
    require(policy_for(Release).can_add(actor, application.tenant), tenant=application.tenant)
    spec = release_spec(fields, application.component_kind)
    locked = Application.objects.select_for_update().get(pk=application.pk)
    previous = Release.objects.filter(application=locked).order_by("-number").first()
    release = _release_save(actor, locked, spec, number=previous.number + 1 if previous else 1)
    changes = {
        "number": [previous.number if previous else None, release.number],
        "image": [previous.image if previous else None, release.image],
    }
    if previous is not None:
        changes["fields"] = [None, ", ".join(field for field, _, _ in release_diff(previous, release)) or "none"]
    audit_record(actor=actor, action="release.create", obj=release, changes=changes)
    return release


def release_check(*, kind: str | None, fields: dict, invalid: Collection[str]) -> None:
    """Check a release that will not be cut because some of its fields failed to parse (`invalid`),
    so that the same answer also names every other field at fault. `kind` is None when the request
    named no application that exists."""
    release_spec({name: value for name, value in fields.items() if name in RELEASE_FIELDS}, kind, invalid)


DIFF_FIELDS = ("image", "image_digest", *(field for field in SPEC_DEFAULTS if field != "image"))


def release_diff(before: Release, after: Release) -> list[tuple[str, object, object]]:
    """What changed from `before` to `after`, as (field, before, after) in reading order. Environment
    variables are listed one by one (`env.NAME`), since that is how people look for a change."""
    if before.application_id != after.application_id:
        raise refuse("against", "Compare two releases of the same application.")
    changes = []
    for field in DIFF_FIELDS:
        old, new = getattr(before, field), getattr(after, field)
        if field == "env":
            changes += [
                (f"env.{name}", old.get(name), new.get(name))
                for name in sorted(old.keys() | new.keys())
                if old.get(name) != new.get(name)
            ]
        elif old != new:
            changes.append((field, old, new))
    return changes


# --- Service templates (operators) -------------------------------------------------------------


def _defaults_check(defaults, schema: dict, kind: str) -> dict:
    """A template's defaults are release fields that, with the parameters' defaults, make a valid release."""
    if not isinstance(defaults, dict):
        raise refuse("defaults", "Give the defaults as a JSON object of release fields.")
    unknown = sorted(set(defaults) - set(RELEASE_FIELDS))
    if unknown:
        raise refuse("defaults", f"Not release fields: {', '.join(unknown)}. Use {', '.join(RELEASE_FIELDS)}.")
    parameter_defaults = {
        name: prop["default"] for name, prop in schema.get("properties", {}).items() if "default" in prop
    }
    fields, _ = release_fields(defaults, parameter_defaults)
    fields.setdefault("image", PLACEHOLDER_IMAGE)  # a required parameter supplies it
    if kind == ComponentKind.CRON:
        fields.setdefault("schedule", "@daily")
    try:
        release_spec(fields, kind)
    except ApplicationError as exc:
        problems = [f"{field}: {message}" for field, messages in exc.errors.items() for message in messages]
        raise ApplicationError.invalid({"defaults": problems or [exc.message]}) from None
    return defaults


@transaction.atomic
def template_create(
    *,
    operator: Principal,
    slug: str,
    name: str,
    component_kind: str,
    description: str = "",
    parameter_schema: dict | None = None,
    defaults: dict | None = None,
) -> ServiceTemplate:
    """Publish a service template; when the slug exists this is its next version, and applications
    made from earlier versions keep pointing at the version they were made from."""
    require(template_policy.can_add(operator), "Only platform operators define service templates.")
    template = ServiceTemplate(
        slug=(slug or "").strip().lower(),
        name=(name or "").strip(),
        description=(description or "").strip(),
        component_kind=component_kind,
    )
    _check_template(template)
    template.parameter_schema = schema_check(parameter_schema or {})
    template.defaults = _defaults_check(defaults or {}, template.parameter_schema, component_kind)
    latest = ServiceTemplate.objects.select_for_update().filter(slug=template.slug).order_by("-version").first()
    if latest is not None and latest.component_kind != component_kind:
        raise ApplicationError(
            f"{latest.slug} makes a {latest.get_component_kind_display().lower()}; a new version keeps its kind.",
            code=KIND_MISMATCH,
            field="component_kind",
        )
    template.version = latest.version + 1 if latest else 1
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise ApplicationError(
            f"Another version of {template.slug} was published at the same moment; try again.",
            code=CONFLICT,
            status=409,
        ) from None
    audit_record(
        actor=operator,
        action="template.create",
        obj=template,
        changes={"slug": [None, template.slug], "version": [None, template.version]},
    )
    return template


def _check_template(template: ServiceTemplate) -> None:
    try:
        template.full_clean(
            exclude=["version", "parameter_schema", "defaults"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise refuse(field, messages[0]) from None
