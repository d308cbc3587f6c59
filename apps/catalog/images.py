"""Which images a release may name: the operators' allow-list and the platform registry's tenancy.

Any registry is allowed by default. Once the allow-list has an entry, a release's image must match one
(the platform registry is always allowed). Operators keep entries in the console and the operator API
(ImageRule rows, audited); the entries of the IMAGE_ALLOWLIST setting count besides them. An entry is
- `ghcr.io` — any repository in that registry;
- `ghcr.io/acme/*` — any repository under that path;
- `docker.io/library/nginx` — that repository alone.
Docker Hub's short names count as written in full: `nginx:1.27` is `docker.io/library/nginx`.
In the platform registry (REGISTRY_URL) a tenant's releases name only its own repositories, `<tenant>/…`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError, require
from apps.tenants.principals import Principal

from .models import ImageRule

DOCKER_HUB = "docker.io"
IMAGE_NOT_ALLOWED = "image_not_allowed"
RULE_TAKEN = "image_rule_taken"
FROM_SETTING, FROM_OPERATORS = "IMAGE_ALLOWLIST", "operators"

_HOST = r"(?:localhost|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)(?::[0-9]{1,5})?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATTERN = re.compile(rf"^(?:{_HOST}|(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?:/\*)?)$")


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


def allowlist() -> list[tuple[str, str]]:
    """Every entry of the allow-list with where it comes from (the setting, or the operators' rules)."""
    entries = [(entry.strip().rstrip("/"), FROM_SETTING) for entry in settings.IMAGE_ALLOWLIST if entry.strip()]
    known = {entry for entry, _ in entries}
    rules = ImageRule.objects.values_list("pattern", flat=True)
    return entries + [(pattern, FROM_OPERATORS) for pattern in rules if pattern not in known]


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
    entries = [entry for entry, _ in allowlist()]
    if entries and not any(_matches(repository, entry) for entry in entries):
        platform_words = " and the platform registry" if platform else ""
        raise ApplicationError(
            f"“{image}” ({repository}) is not on the operators' image allow-list: images may come only from "
            f"{', '.join(entries)}{platform_words}.",
            code=IMAGE_NOT_ALLOWED,
            field=field,
        )


def image_pattern(text: str) -> str:
    """An allow-list entry as stored: lower case, a repository named in full (`nginx` is
    `docker.io/library/nginx`); refused (400 on `pattern`) when it is none of the three forms."""
    pattern = text.strip().lower().rstrip("/")
    if not _PATTERN.match(pattern):
        raise ApplicationError(
            f"“{text}” is not an allow-list entry: give a registry (ghcr.io), a path with everything under it "
            "(ghcr.io/acme/*) or one repository (docker.io/library/nginx), without a tag or digest.",
            code="invalid",
            field="pattern",
        )
    if pattern.endswith("/*"):
        first = pattern.split("/", 1)[0]
        hosted = "." in first or ":" in first or first == "localhost"
        return (repository_of(pattern[:-2]) if hosted else f"{DOCKER_HUB}/{pattern[:-2]}") + "/*"
    if "/" not in pattern:
        return pattern if ("." in pattern or ":" in pattern or pattern == "localhost") else repository_of(pattern)
    return repository_of(pattern)


@transaction.atomic
def image_rule_add(*, operator: Principal, pattern: str, note: str = "") -> ImageRule:
    """Allow images from a registry, a path or a repository. The first entry turns the allow-list on:
    from then on releases name only images it covers (or the platform registry's)."""
    require(operator.is_operator, "Only platform operators change the image allow-list.")
    pattern = image_pattern(pattern)
    try:
        with transaction.atomic():
            rule = ImageRule.objects.create(pattern=pattern, note=(note or "").strip(), created_by=operator.user)
    except IntegrityError:
        raise ApplicationError(
            f"{pattern} is already on the allow-list.", code=RULE_TAKEN, status=409, field="pattern"
        ) from None
    audit_record(actor=operator, action="image_rule.add", obj=rule, changes={"pattern": [None, pattern]})
    return rule


@transaction.atomic
def image_rule_remove(*, operator: Principal, rule: ImageRule) -> None:
    """Stop allowing images from a rule's source; releases that already name one stay as they are."""
    require(operator.is_operator, "Only platform operators change the image allow-list.")
    audit_record(actor=operator, action="image_rule.remove", obj=rule, changes={"pattern": [rule.pattern, None]})
    rule.delete()
