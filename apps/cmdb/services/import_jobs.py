"""Imports too large to answer while the request waits: queued as an ImportJob, run by a worker.

`import_submit` is what the page and the API call: up to CMDB_IMPORT_SYNC_ROWS rows it imports at
once and returns the report, above that it stores the upload and queues a job. `import_job_run` is
the worker's side: one transaction for the rows and the job's final state, so a worker that dies
leaves nothing half-imported and the job is simply run again; progress is written on a connection
of its own so pollers see it while that transaction is open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import structlog
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from ..models import ConfigurationItem, ImportJob
from .imports import RowsInvalid, items_import, limit, parse, rows_check

logger = structlog.get_logger(__name__)

MAX_ERRORS_KEPT = 1000
KEY_INACTIVE = "key_inactive"


@dataclass
class Submitted:
    """Either the report of an import done now, or the job that will do it."""

    report: dict | None = None
    job: ImportJob | None = None


def import_submit(
    *,
    actor: Principal,
    tenant: Tenant,
    content: bytes | None = None,
    file_format: str = "json",
    rows: list | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> Submitted:
    """Import an uploaded file (`content`) or inline `rows`: now when they are few, else as a job.

    Limits are checked before anything is queued: the upload's size (413), the row count (400)."""
    require(policy_for(ConfigurationItem).can_add(actor, tenant), tenant=tenant)
    if rows is None:
        if content is None:
            raise ValueError("Give the uploaded content or the rows.")
        rows = parse(content, file_format)
    rows_check(len(rows))
    if len(rows) <= limit("SYNC_ROWS"):
        return Submitted(
            report=items_import(actor=actor, tenant=tenant, rows=rows, dry_run=dry_run, skip_invalid=skip_invalid)
        )
    if content is None:
        content, file_format = json.dumps(rows).encode(), "json"
    return Submitted(
        job=import_job_start(
            actor=actor,
            tenant=tenant,
            content=content,
            file_format=file_format,
            total=len(rows),
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
    )


@transaction.atomic
def import_job_start(
    *, actor: Principal, tenant: Tenant, content: bytes, file_format: str, total: int, dry_run: bool, skip_invalid: bool
) -> ImportJob:
    """Store the upload as a queued job and nudge a worker once it is committed."""
    from ..tasks import import_job_run_task

    require(policy_for(ConfigurationItem).can_add(actor, tenant), tenant=tenant)
    job = ImportJob.objects.create(
        tenant=tenant,
        created_by=actor.user,
        api_key=actor.api_key,
        file_format=file_format,
        content=content,
        total=total,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    audit_record(
        actor=actor,
        action="cmdb.import.queue",
        obj=job,
        tenant=tenant,
        changes={"rows": [None, total], "dry_run": [None, dry_run]},
    )
    transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a queued job as the person (or key) who started it; refuses jobs already ended."""
    job = ImportJob.objects.select_related("tenant", "created_by", "api_key").filter(pk=job_id).first()
    if job is None or job.is_terminal:
        return job
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, processed=0
    )
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with transaction.atomic():
            try:
                report = items_import(
                    actor=_actor(job),
                    tenant=job.tenant,
                    rows=parse(bytes(job.content), job.file_format),
                    dry_run=job.dry_run,
                    skip_invalid=job.skip_invalid,
                    progress=lambda done: _progress(side, job.pk, done),
                )
            except ApplicationError as exc:
                _finish(job, ImportJob.State.FAILED, exc.report if isinstance(exc, RowsInvalid) else None, exc.message)
            else:
                _finish(job, ImportJob.State.SUCCEEDED, report, _done_message(report))
    except Exception:
        logger.exception("cmdb import job failed", job=job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.FAILED,
            finished_at=timezone.now(),
            content=b"",
            detail="The import failed unexpectedly; nothing was imported. See the logs.",
        )
        raise
    finally:
        side.close()
    return job


def _actor(job: ImportJob) -> Principal:
    """Who the job acts as: its creator, through the same key and scopes if it came through one."""
    key = job.api_key
    if key is not None and not key.is_active:
        raise ApplicationError(
            "The API key that started this import was revoked or expired; nothing was imported.",
            code=KEY_INACTIVE,
            status=403,
        )
    return Principal(job.created_by, key)


def _progress(side, job_id: int, done: int) -> None:
    with side.cursor() as cursor:
        cursor.execute(f"UPDATE {ImportJob._meta.db_table} SET processed = %s WHERE id = %s", [done, job_id])


def _finish(job: ImportJob, state: str, report: dict | None, detail: str) -> None:
    report = report or {}
    job.state, job.detail, job.finished_at, job.content = state, detail, timezone.now(), b""
    job.applied = bool(report.get("applied"))
    job.summary = report.get("summary", {})
    job.processed = len(report.get("rows", [])) if report else job.processed
    job.errors = [line for line in report.get("rows", []) if line["action"] == "error"][:MAX_ERRORS_KEPT]
    job.save()


def _done_message(report: dict) -> str:
    counts = "{create} to create, {update} to update, {unchanged} unchanged, {error} invalid".format(
        **report["summary"]
    )
    return f"Dry run, nothing was changed: {counts}." if report["dry_run"] else f"Imported: {counts}."
