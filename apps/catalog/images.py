"""Which images a release may name: the operators' allow-list and the platform registry's tenancy.

Any registry is allowed by default. With IMAGE_ALLOWLIST set, a release's image must match one of its
entries (the platform registry is always allowed):
- `ghcr.io` — any repository in that registry;
- `ghcr.io/acme/*` — any repository under that path;
- `docker.io/library/nginx` — that repository alone.
Docker Hub's short names count as written in full: `nginx:1.27` is `docker.io/library/nginx`.
In the platform registry (REGISTRY_URL) a tenant's releases name only its own repositories, `<tenant>/…`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from apps.core.errors import ApplicationError

DOCKER_HUB = "docker.io"
IMAGE_NOT_ALLOWED = "image_not_allowed"


def repository_of(image: str) -> str:
    """`registry/path/name` of an image reference, without tag or digest, Docker Hub's names in full."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first, _, rest = name.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        name = f"{DOCKER_HUB}/{name if rest else 'library/' + name}"
    elif first in ("index.docker.io", "registry-1.docker.io"):
        name = f"{DOCKER_HUB}/{rest}"
    return name


def _matches(repository: str, entry: str) -> bool:
    entry = entry.strip().rstrip("/")
    if entry.endswith("/*"):
        return repository.startswith(entry[:-1])
    if "/" not in entry:
        return repository.startswith(f"{entry}/")
    return repository == repository_of(entry)


def platform_registry() -> str:
    return urlsplit(settings.REGISTRY_URL).netloc if settings.REGISTRY_URL else ""


def image_check(image: str, tenant_slug: str, field: str = "image") -> None:
    """Refuse (400, naming `field` and the rule) an image the operators' allow-list does not cover, or
    another tenant's repository in the platform registry."""
    repository = repository_of(image)
    platform = platform_registry()
    if platform and repository.startswith(f"{platform}/"):
        if not repository.startswith(f"{platform}/{tenant_slug}/"):
            raise ApplicationError(
                f"“{image}” is another tenant's repository in the platform registry; "
                f"this tenant's images are under {platform}/{tenant_slug}/.",
                code=IMAGE_NOT_ALLOWED,
                field=field,
            )
        return
    allowlist = [entry for entry in settings.IMAGE_ALLOWLIST if entry.strip()]
    if allowlist and not any(_matches(repository, entry) for entry in allowlist):
        platform_words = " and the platform registry" if platform else ""
        raise ApplicationError(
            f"“{image}” ({repository}) is not on the operators' image allow-list: images may come only from "
            f"{', '.join(allowlist)}{platform_words}.",
            code=IMAGE_NOT_ALLOWED,
            field=field,
        )
