"""What serves an application in an environment now, read from the cluster when a page or the API asks.

The release that serves is the one the Service routes to: for blue-green the Service's selector names a
colour and that colour's Deployment runs the release; otherwise the application's own Deployment (or
CronJob) does. Deployment rows and their events are history: after a switch back the newest deployment
that succeeded is not the one serving, so this is never inferred from them. When the cluster cannot be
read the answer says so instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from apps.clusters.connection import kube_for
from apps.clusters.kube import KubeClient, KubeError
from apps.clusters.models import Placement
from apps.core import livemodel
from apps.core.numbers import as_id, digits
from apps.tenants.models import Environment

from .manifests import DEPLOYMENT_ANNOTATION, LABEL
from .pods import READ_OPTIONS
from .strategies.manifests import COLOUR


@dataclass
class Serving:
    """The release serving now. `release` is None when nothing of the application runs there;
    `error` is set (and nothing else) when the cluster could not be read."""

    release: int | None = None
    colour: str = ""
    deployment: int | None = None
    ready: int = 0
    replicas: int | None = 0  # None for a cron job, which has no replicas
    error: str = ""
    # How the cluster differs from the serving release (someone changed it behind the portal's back), as
    # the lifecycle watcher judged it; empty when it does not or nobody judged.
    drift: str = ""
    # The serving Deployment (or CronJob) as read, for callers that judge more of it (workload rows).
    workload: dict | None = field(default=None, repr=False, compare=False)
    # The application's Service as read (None: it has none), whose selector says which pods it routes to.
    service: dict | None = field(default=None, repr=False, compare=False)

    @property
    def summary(self) -> str:
        """The serving release in words, as pages show it."""
        if self.error:
            return self.error
        if self.release is None:
            return "Nothing runs there now"
        colour = f" ({self.colour})" if self.colour else ""
        drift = f"; out of sync: {self.drift}" if self.drift else ""
        if self.replicas is None:
            return f"Release #{self.release} (cron job){drift}"
        return f"Release #{self.release}{colour}, {self.ready} of {self.replicas} replicas ready{drift}"

    def as_dict(self) -> dict:
        return {
            "readable": not self.error,
            "error": self.error,
            "release_number": self.release,
            "colour": self.colour,
            "deployment": self.deployment,
            "ready": self.ready,
            "replicas": self.replicas,
            "drift": self.drift,
            "summary": self.summary,
        }


def serving_now(application, environment, *, kube: KubeClient | None = None) -> Serving:
    """The release the application's traffic reaches in the environment, read from the cluster now.

    Given a client (the workload refresh reads more with the same one), the reads go through it and a
    KubeError reaches the caller; otherwise a client is opened and a failure is told in `error`."""
    if kube is not None:
        return _read(kube, application, environment)
    placement = Placement.objects.select_related("cluster").filter(environment=environment.pk).first()
    if placement is None:
        return Serving()  # never placed on a cluster, so nothing of it can run
    try:
        with kube_for(placement.cluster, **READ_OPTIONS) as kube:
            serving = _read(kube, application, environment)
    except KubeError as exc:
        return Serving(error=f"The cluster {placement.cluster.name} could not be read: {exc.message}")
    # Whether what runs differs from the release is the lifecycle watcher's judgement (a dry run of the
    # release): said where it judged the same release.
    judged = livemodel.watched([(application, environment)]).get((application.pk, environment.pk))
    if judged is not None and judged.release == serving.release:
        serving.drift = judged.drift
    return serving


def _read(kube: KubeClient, application, environment) -> Serving:
    name, namespace = application.name, environment.namespace
    if application.component_kind == "cron":
        cron = _of(kube.get("batch/v1", "CronJob", name, namespace))
        cron.replicas = None
        return cron
    service = kube.get("v1", "Service", name, namespace)
    colour = ((service or {}).get("spec") or {}).get("selector", {}).get(COLOUR, "")
    # A colour's Deployment is named as strategies/manifests.py's colour_name names it.
    serving = _of(kube.get("apps/v1", "Deployment", f"{name}-{colour}" if colour else name, namespace), colour)
    serving.service = service
    return serving


def _of(workload: dict | None, colour: str = "") -> Serving:
    if workload is None:
        return Serving(colour=colour)
    meta, status = workload["metadata"], workload.get("status") or {}
    release = (meta.get("labels") or {}).get(f"{LABEL}/release")
    deployment = (meta.get("annotations") or {}).get(DEPLOYMENT_ANNOTATION)
    return Serving(
        release=int(release) if digits(release) else None,
        colour=colour,
        deployment=as_id(deployment),
        ready=status.get("readyReplicas") or 0,
        replicas=(workload.get("spec") or {}).get("replicas") or 0,
        workload=workload,
    )


def serving_of_many(pairs, *, watched: bool = False) -> dict[tuple[int, int], Serving]:
    """serving_now for many (application, environment) pairs at once, keyed by their ids. With `watched`
    (pages), what the lifecycle watcher leading now has read answers first (apps/core/livemodel.py; it
    knows no deployment id). The rest are read with one query for the placements and one client per
    cluster, where a row each would open its own. A cluster that fails
    a read answers every remaining row of it with that error rather than timing out once per row."""
    pairs = list(pairs)
    answers: dict[tuple[int, int], Serving] = livemodel.watched(pairs) if watched else {}
    pairs = [
        (application, environment)
        for application, environment in pairs
        if (application.pk, environment.pk) not in answers
    ]
    placements = {
        placement.environment_id: placement.cluster
        for placement in Placement.objects.select_related("cluster").filter(
            environment__in={environment.pk for _, environment in pairs}
        )
    }
    by_cluster: dict[int, list] = defaultdict(list)
    for application, environment in pairs:
        cluster = placements.get(environment.pk)
        if cluster is None:
            answers[application.pk, environment.pk] = Serving()  # never placed on a cluster: nothing runs
        else:
            by_cluster[cluster.pk].append((cluster, application, environment))
    for rows in by_cluster.values():
        cluster = rows[0][0]
        failed: Serving | None = None
        try:
            with kube_for(cluster, **READ_OPTIONS) as kube:
                for _, application, environment in rows:
                    key = application.pk, environment.pk
                    if failed is None:
                        try:
                            answers[key] = _read(kube, application, environment)
                            continue
                        except KubeError as exc:
                            failed = Serving(error=f"The cluster {cluster.name} could not be read: {exc.message}")
                    answers[key] = failed
        except KubeError as exc:
            failed = Serving(error=f"The cluster {cluster.name} could not be read: {exc.message}")
            for _, application, environment in rows:
                answers.setdefault((application.pk, environment.pk), failed)
    return answers


def serving_by_environment(principal, application) -> list[tuple[Environment, Serving]]:
    """What serves the application now in each environment of its tenant the principal may see."""
    environments = list(
        Environment.objects.restrict(principal, "view").filter(tenant=application.tenant_id).order_by("name")
    )
    answers = serving_of_many((application, environment) for environment in environments)
    return [(environment, answers[application.pk, environment.pk]) for environment in environments]
