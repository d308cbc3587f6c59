"""What a build does on the worker: fetch the context, build through the engine, push to the registry,
read the pushed digest back, and cut a release pinned to it when asked.

The row is the truth: the run starts only from `queued`, a tenant runs at most
BUILD_CONCURRENCY_PER_TENANT builds at once (the rest wait in `queued`), and a cancel or the time limit
stops the engine within a second. Nothing of a failed or cancelled build stays in the registry, and
the uploaded context and the local image are dropped whatever happens.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.parameters import release_fields
from apps.catalog.services import release_create
from apps.catalog.validation import RELEASE_FIELDS
from apps.core.errors import ApplicationError
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from . import engine
from .models import Build, BuildContext, State
from .services import ERROR, build_finish, build_move, log_append
from .sources import CloneFailed, clone_context, has_file

WAIT = "wait"


def _claim(build_id: int) -> Build | str | None:
    """The build, now running; WAIT when its tenant already runs its limit (the build stays queued until
    one of the tenant's builds ends and nudges it); None when there is nothing
    to do (gone, finished, or already running)."""
    with transaction.atomic():
        build = (
            Build.objects.select_for_update(of=("self",))
            .select_related("tenant", "application")
            .filter(pk=build_id)
            .first()
        )
        if build is None or build.is_terminal:
            return None
        if build.state != State.QUEUED:
            return None  # a second nudge while it runs; a run whose worker died is swept (builds_sweep)
        list(Tenant.objects.select_for_update().filter(pk=build.tenant_id).values_list("pk", flat=True))
        running = Build.objects.filter(tenant_id=build.tenant_id, state__in=[State.RUNNING, State.PUSHING]).count()
        if running >= settings.BUILD_CONCURRENCY_PER_TENANT:
            return WAIT
        build_move(build, State.RUNNING, f"Started on {socket.gethostname()}.")
        return build


class _Stopper:
    """Whether the build should stop: cancelled by someone, or past its time limit (looked up once a second)."""

    def __init__(self, build: Build):
        self.build = build
        self.deadline = time.monotonic() + settings.BUILD_TIME_LIMIT_SECONDS
        self.checked = 0.0
        self.cancelled = False

    @property
    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def __call__(self) -> bool:
        if time.monotonic() - self.checked >= 1.0:
            self.checked = time.monotonic()
            self.cancelled = Build.objects.filter(pk=self.build.pk, cancel_requested=True).exists()
        return self.cancelled or self.timed_out


def _context(build: Build) -> bytes:
    if build.repository_url:
        log_append(build, [f"Fetching {build.ref} from {build.repository_url}."], "step")
        return clone_context(build.repository_url, build.ref, settings.BUILD_GIT_TIMEOUT_SECONDS)
    row = BuildContext.objects.filter(build=build).first()
    if row is None:
        raise CloneFailed("The uploaded context is gone; start the build again.")
    return bytes(row.data)


def _release_fields(build: Build) -> dict:
    """The current release's settings, or the template's defaults when the application has no release."""
    current = build.application.releases.order_by("-number").first()
    if current is not None:
        return {name: getattr(current, name) for name in RELEASE_FIELDS if name not in ("image", "notes")}
    template = build.application.template
    if template is not None:
        fields, _ = release_fields(template.defaults, build.application.template_parameters)
        return {name: value for name, value in fields.items() if name in RELEASE_FIELDS and name != "image"}
    return {}


def _release(build: Build, digest: str):
    if build.requested_by is None:
        raise ApplicationError("The person who asked for this build no longer exists; cut the release by hand.")
    return release_create(
        actor=Principal(build.requested_by),
        application=build.application,
        image=f"{build.image}@{digest}",
        notes=f"Built by build {build.pk} (tag {build.tag}).",
        **_release_fields(build),
    )


def _stopped(build: Build, stopper: _Stopper, output: list[str] | None = None) -> None:
    if stopper.cancelled:
        build_finish(build, State.CANCELLED, "Cancelled; nothing was pushed.", output=output)
    else:
        build_finish(
            build,
            State.FAILED,
            f"Stopped after the time limit of {settings.BUILD_TIME_LIMIT_SECONDS} seconds.",
            output=output,
        )


def _emit(build: Build):
    return lambda lines: log_append(build, lines)


def _stored(build: Build, lines: list[str]) -> list[str]:
    """Store lines held back for the next step's write before a call that may fail and end the build
    with words of its own (the registry's, the release's), so the log keeps them in order; none are left."""
    log_append(build, lines)
    return []


def _run(build: Build, api) -> None:
    stopper = _Stopper(build)
    context = _context(build)
    reference = f"{build.image}:{build.tag}"
    try:
        stream = engine.build_stream(
            api,
            context=context,
            tag=reference,
            dockerfile=build.dockerfile,
            build_args=build.build_args,
            target=build.target,
        )
        built, tail = engine.follow(api, stream, _emit(build), stopper)
    except engine.EngineError:
        # Only a failed build pays for reading the context through (a megabyte of busybox is a tenth of
        # a second): a missing Dockerfile gets words of its own, whatever the engine calls it.
        if not has_file(context, build.dockerfile):
            build_finish(build, State.FAILED, f"The context has no Dockerfile at “{build.dockerfile}”.")
            return
        raise
    if not built or stopper():
        _stopped(build, stopper, tail)
        return
    build_move(build, State.PUSHING, f"Pushing {reference}.", output=tail)
    name = build.image.split("/", 1)[1]
    pushed: dict = {}
    finished, tail = engine.follow(api, engine.push_stream(api, build.image, build.tag), _emit(build), stopper, pushed)
    if not finished:
        _stopped(build, stopper)
        return
    # The digest the registry answered the engine's manifest upload with; asked of the registry when
    # the engine did not pass it on.
    digest = str(pushed.get("Digest") or "")
    if pushed.get("Tag") != build.tag or not digest.startswith("sha256:"):
        tail = _stored(build, tail)
        digest = engine.manifest_digest(name, build.tag)
    if stopper():
        tail = _stored(build, tail)
        engine.manifest_delete(name, digest)
        _stopped(build, stopper)
        return
    if build.create_release:
        tail = _stored(build, tail)
    release = _release(build, digest) if build.create_release else None
    done = f"Pushed {build.image}@{digest}" + (f"; release #{release.number} pins it." if release else ".")
    build_finish(build, State.SUCCEEDED, done, output=tail, digest=digest, release=release)


class _Heartbeat:
    """Stamps the running build every BUILD_HEARTBEAT_SECONDS from a thread of its own, whatever step the
    build is in (cloning, building, pushing), so the sweeper can tell a live run from one whose worker
    died: the stamps stop with the process."""

    def __init__(self, build: Build):
        self.build_id = build.pk
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"build-{build.pk}-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.BUILD_HEARTBEAT_SECONDS):
                Build.objects.filter(pk=self.build_id, state__in=[State.RUNNING, State.PUSHING]).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(10)


def build_run(build_id: int) -> str | None:
    """Run one build from start to end; WAIT when it must wait for another of its tenant's builds."""
    build = _claim(build_id)
    if not isinstance(build, Build):
        return build
    with _Heartbeat(build):
        _run_claimed(build)
    return None


def _run_claimed(build: Build) -> None:
    api = None
    try:
        api = engine.client()
        _run(build, api)
    except CloneFailed as exc:
        build_finish(build, State.FAILED, str(exc))
    except engine.EngineError as exc:
        build_finish(build, State.FAILED, f"The build failed: {exc}")
    except ApplicationError as exc:
        build_finish(build, State.FAILED, f"The image was pushed, but the release was refused: {exc.message}")
    except Exception:
        log_append(build, ["The build stopped on an internal error; the operators have the details."], ERROR)
        build_finish(build, State.FAILED, "The build stopped on an internal error.")
        raise
    finally:
        if api is not None:
            engine.remove_image(api, f"{build.image}:{build.tag}")
            api.close()
    return None


# A queued build whose nudge was lost is nudged again after this long.
REQUEUE_AFTER = timedelta(seconds=30)


WORKER_DIED = "The worker running this build stopped before it ended; start it again."


def builds_sweep() -> list[int]:
    """Fail running builds whose worker died: no heartbeat for BUILD_HEARTBEAT_TIMEOUT_SECONDS (or, as a
    last resort, still running well past the time limit, which a live run stops itself at). Return the
    ids of queued builds waiting longer than REQUEUE_AFTER, to be nudged again."""
    now = timezone.now()
    running = Build.objects.filter(state__in=[State.RUNNING, State.PUSHING])
    silent = now - timedelta(seconds=settings.BUILD_HEARTBEAT_TIMEOUT_SECONDS)
    stale = now - timedelta(seconds=settings.BUILD_TIME_LIMIT_SECONDS + 300)
    dead = running.filter(Q(heartbeat_at__lt=silent) | Q(heartbeat_at__isnull=True, started_at__lt=silent))
    for build in dead | running.filter(started_at__lt=stale):
        build_finish(build, State.FAILED, WORKER_DIED)
    return list(
        Build.objects.filter(state=State.QUEUED, created_at__lt=now - REQUEUE_AFTER).values_list("pk", flat=True)
    )
