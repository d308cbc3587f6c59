"""Every change to a build: requesting one, cancelling it, its log and its state.

Log lines and state changes are written under a lock on the build row with the next seq (1, 2, 3 ...
without gaps) and broadcast after commit. Terminal builds never change again.
"""

from __future__ import annotations

import re

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog.models import Application
from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.core.policies import policy_for
from apps.core.realtime import broadcast_on_commit, build_group
from apps.tenants.principals import Principal

from . import engine
from .models import Build, BuildContext, BuildLogLine, State
from .sources import context_check, repository_check

# The task as Celery routes it: the services sit below the task module, so they name it.
RUN = "apps.builds.tasks.run_build"
BUILDS_OFF = "builds_unavailable"
REGISTRY_UNREADABLE = "registry_unreadable"
BUILD_FINISHED = "build_finished"
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ARG_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

STEP, OUTPUT, ERROR = BuildLogLine.Stream.STEP, BuildLogLine.Stream.OUTPUT, BuildLogLine.Stream.ERROR


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, field=field)


def _check_options(*, dockerfile: str, build_args: dict, target: str, tag: str) -> None:
    if not dockerfile or dockerfile.startswith("/") or ".." in dockerfile.split("/"):
        raise _refuse("dockerfile", "Give the Dockerfile's path inside the context, for example Dockerfile.")
    if not isinstance(build_args, dict) or any(
        not ARG_RE.match(str(name)) or not isinstance(value, str) for name, value in build_args.items()
    ):
        raise _refuse("build_args", 'Give build arguments as names and text values, for example {"VERSION": "1.2"}.')
    if target and not ARG_RE.match(target.replace("-", "_")):
        raise _refuse("target", "Give the target as the name of a stage in the Dockerfile.")
    if tag and not TAG_RE.match(tag):
        raise _refuse("tag", "A tag is up to 128 letters, digits, dots, dashes and underscores.")


@transaction.atomic
def build_request(
    *,
    actor: Principal,
    application: Application,
    context: bytes | None = None,
    repository_url: str = "",
    ref: str = "",
    dockerfile: str = "Dockerfile",
    build_args: dict | None = None,
    target: str = "",
    tag: str = "",
    create_release: bool = False,
) -> Build:
    """Queue a build of the application's image from an uploaded .tar.gz `context` or from `ref` of the
    Git repository at `repository_url` (exactly one of them). The context is checked here and refused
    with 400 (413 when too large); the build itself runs on the builds queue."""
    require(policy_for(Build).can_add(actor, application.tenant), tenant=application.tenant)
    if not engine.configured():
        raise ApplicationError(
            "Builds are not available: the operators have not configured a build engine and registry.",
            code=BUILDS_OFF,
            status=503,
        )
    if (context is None) == (not repository_url):
        raise _refuse("context", "Upload a context (.tar.gz) or give a repository_url and ref, not both.")
    build_args = build_args or {}
    _check_options(dockerfile=dockerfile, build_args=build_args, target=target, tag=tag)
    if context is not None:
        context_check(context)
    else:
        repository_check(repository_url, ref)
    build = Build.objects.create(
        tenant_id=application.tenant_id,
        application=application,
        repository_url=repository_url,
        ref=ref,
        dockerfile=dockerfile,
        build_args=build_args,
        target=target,
        tag=tag or "pending",
        image=engine.repository_for(application.tenant.slug, application.name),
        create_release=create_release,
        requested_by=actor.user,
    )
    if not tag:
        build.tag = f"build-{build.pk}"
        Build.objects.filter(pk=build.pk).update(tag=build.tag)
    if context is not None:
        BuildContext.objects.create(build=build, data=context)
    source = "an uploaded context" if context is not None else f"{repository_url} at {ref}"
    log_append(build, [f"Queued by {build.requested_by or 'the platform'}: {source}, tag {build.tag}."], STEP)
    audit_record(actor=actor, action="build.request", obj=build, changes={"tag": [None, build.tag]})
    transaction.on_commit(lambda: current_app.tasks[RUN].delay(build.pk))
    return build


@transaction.atomic
def build_cancel(*, actor: Principal, build: Build) -> Build:
    """Stop a build. A queued one is cancelled at once; a running one is marked, and its worker stops
    the engine within a second and records the cancellation. Nothing it built is pushed or kept."""
    require(policy_for(Build).can_change(actor, build), tenant=build.tenant)
    build = Build.objects.select_for_update().get(pk=build.pk)
    if build.is_terminal:
        raise ApplicationError(f"The build already {build.state}.", code=BUILD_FINISHED, status=409)
    who = actor.user
    if build.state == State.QUEUED:
        build_finish(build, State.CANCELLED, f"Cancelled by {who} before it started.")
    elif not build.cancel_requested:
        build.cancel_requested = True
        Build.objects.filter(pk=build.pk).update(cancel_requested=True)
        log_append(build, [f"Cancel requested by {who}."], STEP)
    audit_record(actor=actor, action="build.cancel", obj=build)
    return build


def log_append(build: Build, lines: list[str], stream: str = OUTPUT, *, then: tuple[str, str] | None = None) -> None:
    """Add lines to the build's log with the next seqs, and `then`, a (stream, text) line after them, in
    one write and one broadcast. The seqs are taken by bumping last_seq, which locks the row until commit."""
    entries = [(stream, text) for text in lines] + ([then] if then else [])
    if not entries:
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Build._meta.db_table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq",
                [len(entries), build.pk],
            )
            row = cursor.fetchone()
        if row is None:
            raise Build.DoesNotExist(f"Build {build.pk} is gone.")
        build.last_seq = row[0]
        first = build.last_seq - len(entries) + 1
        rows = [
            BuildLogLine(build_id=build.pk, seq=first + n, stream=kind, text=text[:4000])
            for n, (kind, text) in enumerate(entries)
        ]
        BuildLogLine.objects.bulk_create(rows)
        broadcast_on_commit(
            build_group(build.pk),
            {
                "build": build.pk,
                "seq": build.last_seq,
                "state": build.state,
                "lines": [{"seq": row.seq, "stream": row.stream, "text": row.text} for row in rows],
            },
        )


def build_move(build: Build, state: str, message: str, *, output: list[str] | None = None) -> None:
    """Move a non-terminal build on to `state` (running or pushing), with a log line saying so after the
    engine's last `output` lines of the step before."""
    with transaction.atomic():
        now = timezone.now()
        fields = {"state": state, **({"started_at": now, "heartbeat_at": now} if state == State.RUNNING else {})}
        Build.objects.filter(pk=build.pk).update(**fields)
        for name, value in fields.items():
            setattr(build, name, value)
        log_append(build, output or [], then=(STEP, message))


def build_finish(build: Build, state: str, outcome: str, *, output: list[str] | None = None, **fields) -> None:
    """End the build in a terminal state with `outcome` in words (and the digest, release ... in `fields`),
    logged after the engine's last `output` lines; its uploaded context goes with it."""
    with transaction.atomic():
        current = Build.objects.select_for_update().get(pk=build.pk)
        if current.is_terminal:
            return
        changes = {"state": state, "outcome": outcome, "finished_at": timezone.now(), **fields}
        Build.objects.filter(pk=build.pk).update(**changes)
        for name, value in changes.items():
            setattr(build, name, value)
        BuildContext.objects.filter(build_id=build.pk).delete()
        log_append(build, output or [], then=(ERROR if state == State.FAILED else STEP, outcome))
        audit_record(actor=None, action=f"build.{state}", obj=build, changes={"state": [current.state, state]})
        _nudge_next(build.tenant_id)


def _nudge_next(tenant_id: int) -> None:
    """A build ended: the tenant's oldest queued build may start now (it waited for the tenant's limit)."""
    waiting = Build.objects.filter(tenant_id=tenant_id, state=State.QUEUED).order_by("id").values_list("pk", flat=True)
    following = waiting.first()
    if following is not None:
        transaction.on_commit(lambda: current_app.tasks[RUN].delay(following))
