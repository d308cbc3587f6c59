"""Retention of the platform registry: each repository keeps its newest tags and loses the rest.

On beat, every repository in the registry keeps the `keep_image_tags` newest tags of its application
(IMAGE_KEEP_TAGS when the application leaves it empty, or when no application owns the repository),
newest by when the image was built (its config's `created`). An older tag's manifest is deleted unless
anything still needs its image: a release (pinned by digest or naming the tag), a workload running it,
a build still under way, or a kept tag pointing at the same manifest. The manifests' layers are freed
by the registry's garbage collection afterwards (REGISTRY_GC_COMMAND), which runs in a read-only window.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field

from django.conf import settings

from apps.catalog.models import Application, Release
from apps.core.audit import audit_record
from apps.workloads.models import Workload

from . import engine
from .models import ACTIVE, Build


@dataclass
class Pruned:
    repository: str
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)


def _digest_of(image: str, repository: str, digests: dict[str, str]) -> str | None:
    """The manifest digest an image reference of `repository` runs: pinned, or its tag's."""
    if not image.startswith(f"{repository}@") and not image.startswith(f"{repository}:"):
        return None
    if "@" in image:
        return image.split("@", 1)[1]
    return digests.get(image[len(repository) + 1 :])


def in_use(name: str, digests: dict[str, str]) -> set[str]:
    """The digests of `name` (`tenant/application`) that a release, a workload or a running build needs."""
    repository = f"{engine.registry_host()}/{name}"
    needed: set[str] = set()
    releases = Release.objects.filter(image__startswith=repository).values_list("image", "image_digest")
    workloads = Workload.objects.filter(image__startswith=repository).values_list("image", flat=True)
    for image, digest in releases:
        needed.add(digest or _digest_of(image, repository, digests) or "")
    for image in workloads:
        needed.add(_digest_of(image, repository, digests) or "")
    for tag in Build.objects.filter(image=repository, state__in=ACTIVE).values_list("tag", flat=True):
        needed.add(digests.get(tag, ""))
    needed.discard("")
    return needed


def keep_for(name: str) -> int:
    tenant, _, application = name.partition("/")
    own = Application.objects.filter(tenant__slug=tenant, name=application).select_related("tenant").first()
    return (own.keep_image_tags if own is not None and own.keep_image_tags else None) or settings.IMAGE_KEEP_TAGS


def repository_prune(name: str, keep: int) -> Pruned:
    """Delete the manifests of `name`'s tags beyond the `keep` newest that nothing needs."""
    result = Pruned(name)
    tags = engine.repository_tags(name)
    if len(tags) <= keep:
        result.kept = tags
        return result
    built = {tag: engine.image_created(name, tag) for tag in tags}
    digests = {tag: digest for tag, (digest, _) in built.items()}
    newest_first = sorted(tags, key=lambda tag: (built[tag][1], tag), reverse=True)
    result.kept = newest_first[:keep]
    needed = in_use(name, digests) | {digests[tag] for tag in result.kept}
    for tag in newest_first[keep:]:
        if digests[tag] in needed:
            result.protected.append(tag)
            continue
        engine.manifest_delete(name, digests[tag])
        result.removed.append(tag)
    return result


def images_prune() -> list[Pruned]:
    """One retention pass over the whole registry; the garbage collection after it when anything went."""
    results = []
    for name in engine.repositories():
        result = repository_prune(name, keep_for(name))
        results.append(result)
        if result.removed:
            tenant, _, application = name.partition("/")
            owner = Application.objects.filter(tenant__slug=tenant, name=application).first()
            audit_record(
                actor=None,
                action="image.prune",
                obj=owner,
                tenant=owner.tenant if owner is not None else None,
                changes={"tags": [", ".join(sorted(result.removed)), None]},
            )
    if any(result.removed for result in results) and settings.REGISTRY_GC_COMMAND:
        collect_garbage()
    return results


def collect_garbage() -> None:
    """Run the registry's garbage collection (REGISTRY_GC_COMMAND), which frees unreferenced layers."""
    outcome = subprocess.run(shlex.split(settings.REGISTRY_GC_COMMAND), capture_output=True, text=True, timeout=900)
    if outcome.returncode != 0:
        raise engine.EngineError(f"The registry's garbage collection failed: {outcome.stderr.strip()[-500:]}")
