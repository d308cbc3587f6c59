"""Writes with the API server's bookkeeping, shared by the HTTP verbs and the simulated controllers.

Create fills uid, timestamps, generation and initial status, runs defaults, validation and
admission; update keeps what clients may not change (identity, status on the main resource, spec
on /status), bumps generation on spec changes only and skips no-op writes; delete honours
finalizers and the propagation policy. Everything here is synchronous: one request or one
controller step runs to completion before the loop serves anything else.
"""

import itertools
import random
import time
import uuid

from . import admission
from .apply import is_noop, record_update
from .errors import APIError, already_exists, bad_request, conflict, forbidden
from .kinds import NAMESPACES, PODS, SERVICES, ResourceType
from .validation import apply_defaults, validate

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_IMMUTABLE_METADATA = (
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
FOREGROUND = "foregroundDeletion"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def random_suffix(length: int = 5) -> str:
    return "".join(random.choices(_SUFFIX_ALPHABET, k=length))


def _qos_class(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    sections = [(c.get("resources") or {}) for c in containers]
    if not any(r.get("limits") or r.get("requests") for r in sections):
        return "BestEffort"
    guaranteed = all(
        all(name in (r.get("limits") or {}) for name in ("cpu", "memory"))
        and (r.get("requests") or r.get("limits")) == r.get("limits")
        for r in sections
    )
    return "Guaranteed" if guaranteed else "Burstable"


class Registry:
    def __init__(self, store):
        self.store = store
        self._service_ips = itertools.count(store.counts().get(SERVICES.key, 0) + 10)

    # --- create ------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        obj: dict,
        *,
        namespace: str = "",
        manager: str | None = None,
        applied: bool = False,
        dry_run: bool = False,
        admit: bool = True,
    ) -> dict:
        """Store a new object. `applied` keeps the managedFields server-side apply computed."""
        metadata = dict(obj.get("metadata") or {})
        if rt.namespaced:
            if namespace and metadata.get("namespace", namespace) != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace = metadata.get("namespace") or namespace
            self._require_namespace(rt, namespace, metadata.get("name") or metadata.get("generateName", ""))
        else:
            metadata.pop("namespace", None)
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + random_suffix()
        obj = {**obj, "apiVersion": rt.api_version, "kind": rt.kind, "metadata": metadata}
        apply_defaults(rt, obj)
        validate(rt, obj, None)
        if self.store.get(rt, namespace if rt.namespaced else "", obj["metadata"]["name"]) is not None:
            raise already_exists(rt, obj["metadata"]["name"])
        if admit and rt is PODS:
            admission.check_pod_security(self.store, obj)
            obj = admission.apply_limit_ranges(self.store, obj)
        if admit:
            admission.check_quota(self.store, rt, obj)
        metadata = dict(obj["metadata"])
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            metadata.pop(key, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = now()
        if rt.has_generation:
            metadata["generation"] = 1
        obj["metadata"] = metadata
        if rt.has_status:
            obj["status"] = self._initial_status(rt, obj)
        if rt is SERVICES:
            obj["spec"] = self._allocate_cluster_ip(obj["spec"])
        if not applied:
            metadata.pop("managedFields", None)
            if manager:
                metadata["managedFields"] = record_update(None, obj, manager=manager, rt=rt, now=now())
        if dry_run:
            return obj
        return self.store.add(rt, obj)

    def _require_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        found = self.store.get(NAMESPACES, "", namespace)
        if found is None:
            raise APIError(
                404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
            )
        if "deletionTimestamp" in found["metadata"]:
            raise forbidden(
                rt, name, f"unable to create new content in namespace {namespace} because it is being terminated"
            )

    def _initial_status(self, rt: ResourceType, obj: dict) -> dict:
        if rt is PODS:
            return {"phase": "Pending", "qosClass": _qos_class(obj)}
        if rt is NAMESPACES:
            return {"phase": "Active"}
        if rt.kind in ("Service", "Ingress"):
            return {"loadBalancer": {}}
        # Fields that are not omitempty in the API: the official client refuses a status without them.
        if rt.kind == "HorizontalPodAutoscaler":
            return {"desiredReplicas": 0}
        if rt.kind == "StatefulSet":
            return {"replicas": 0, "availableReplicas": 0}
        if rt.kind == "DaemonSet":
            return {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0}
        if rt.kind == "PodDisruptionBudget":
            return {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}
        return {}

    def _allocate_cluster_ip(self, spec: dict) -> dict:
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return spec
        n = next(self._service_ips)
        ip = spec.get("clusterIP") or f"10.96.{n // 250 % 250}.{n % 250 + 1}"
        return {
            **spec,
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        }

    # --- update ------------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        live: dict,
        new: dict,
        *,
        manager: str | None = None,
        subresource: str | None = None,
        applied: bool = False,
        dry_run: bool = False,
    ) -> dict:
        """Replace live with new (a fresh top-level dict). Returns live itself when nothing would change."""
        live_meta = live["metadata"]
        if subresource == "status":
            obj = {**live, "status": new.get("status") or {}}
        else:
            metadata = dict(new.get("metadata") or {})
            for key in _IMMUTABLE_METADATA:
                if key in live_meta:
                    metadata[key] = live_meta[key]
                else:
                    metadata.pop(key, None)
            if not applied:
                metadata.pop("managedFields", None)
                if "managedFields" in live_meta:
                    metadata["managedFields"] = live_meta["managedFields"]
            obj = {**new, "apiVersion": rt.api_version, "kind": rt.kind, "metadata": metadata}
            if rt.has_status:
                obj["status"] = live.get("status") or {}
            if rt is SERVICES:
                obj["spec"] = self._keep_cluster_ip(obj.get("spec") or {}, live["spec"])
            apply_defaults(rt, obj)
            validate(rt, obj, live)
            if rt.has_generation and obj.get("spec") != live.get("spec"):
                metadata["generation"] = live_meta.get("generation", 0) + 1
            if manager and not applied:
                metadata["managedFields"] = record_update(
                    live, obj, manager=manager, rt=rt, now=now(), subresource=subresource
                )
        if is_noop(obj, live):
            return live
        if dry_run:
            return obj
        if "deletionTimestamp" in obj["metadata"] and not obj["metadata"].get("finalizers"):
            return self.store.remove(rt, obj)
        return self.store.replace(rt, obj, live)

    @staticmethod
    def _keep_cluster_ip(spec: dict, live_spec: dict) -> dict:
        kept = {
            key: live_spec[key]
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy")
            if key in live_spec and key not in spec
        }
        return {**spec, **kept} if kept else spec

    def set_status(self, rt: ResourceType, live: dict, status: dict) -> dict:
        """The controllers' fast path: store a new status unless it equals the current one."""
        if live.get("status") == status:
            return live
        return self.store.replace(rt, {**live, "status": status}, live)

    # --- delete ------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        live: dict,
        *,
        propagation: str | None = None,
        preconditions: dict | None = None,
        dry_run: bool = False,
    ) -> dict:
        """Delete now, or mark for deletion when finalizers (or foreground propagation) must run first."""
        metadata = live["metadata"]
        self._check_preconditions(rt, live, preconditions or {})
        if "deletionTimestamp" in metadata or dry_run:
            return live
        finalizers = list(metadata.get("finalizers") or [])
        if rt is NAMESPACES:
            return self._mark_deleted(rt, live, finalizers, status={**live.get("status", {}), "phase": "Terminating"})
        if propagation == "Orphan":
            self._orphan_dependents(metadata["uid"])
        elif propagation == "Foreground" and self.store.dependent_keys(metadata["uid"]):
            return self._mark_deleted(rt, live, finalizers + [FOREGROUND])
        if finalizers:
            return self._mark_deleted(rt, live, finalizers)
        return self.store.remove(rt, live)

    def _mark_deleted(self, rt, live: dict, finalizers: list, status: dict | None = None) -> dict:
        metadata = {**live["metadata"], "deletionTimestamp": now(), "deletionGracePeriodSeconds": 0}
        if finalizers:
            metadata["finalizers"] = finalizers
        obj = {**live, "metadata": metadata}
        if status is not None:
            obj["status"] = status
        return self.store.replace(rt, obj, live)

    def _orphan_dependents(self, owner_uid: str) -> None:
        for dep_rt, namespace, name in self.store.dependent_keys(owner_uid):
            dependent = self.store.get(dep_rt, namespace, name)
            if dependent is None:
                continue
            refs = [ref for ref in dependent["metadata"].get("ownerReferences") or [] if ref.get("uid") != owner_uid]
            metadata = {**dependent["metadata"], "ownerReferences": refs}
            if not refs:
                del metadata["ownerReferences"]
            self.store.replace(dep_rt, {**dependent, "metadata": metadata}, dependent)

    def _check_preconditions(self, rt: ResourceType, live: dict, preconditions: dict) -> None:
        metadata, name = live["metadata"], live["metadata"]["name"]
        if preconditions.get("uid") and preconditions["uid"] != metadata["uid"]:
            raise conflict(
                rt,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {metadata['uid']}",
            )
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != metadata["resourceVersion"]:
            raise conflict(
                rt,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{preconditions['resourceVersion']}, ResourceVersion in object meta: "
                f"{metadata['resourceVersion']}",
            )

    def remove_finalizer(self, rt: ResourceType, live: dict, finalizer: str) -> dict:
        """Drop one finalizer; the object goes once the last one does and it is marked for deletion."""
        finalizers = [f for f in live["metadata"].get("finalizers") or [] if f != finalizer]
        metadata = {**live["metadata"], "finalizers": finalizers}
        if not finalizers:
            del metadata["finalizers"]
            if "deletionTimestamp" in metadata:
                return self.store.remove(rt, {**live, "metadata": metadata})
        return self.store.replace(rt, {**live, "metadata": metadata}, live)
