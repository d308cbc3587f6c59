"""Names the platform hands out once: environment namespaces and ingress hosts.

A namespace is `<tenant>--<environment>` (models.namespace_for) and system or reserved names are
refused before anything reaches a cluster. A host belongs to exactly one tenant platform-wide: the
first release that names it claims it, the portal's own hosts and the domains operators reserve are
refused, and a domain reserved for a tenant is that tenant's alone.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from publicsuffixlist import PublicSuffixList

from apps.core.audit import audit_record
from apps.core.errors import ApplicationError
from apps.core.locks import lock_until_commit

from .models import DomainReservation, HostClaim, Tenant
from .principals import Principal

RESERVED_NAME = "reserved_name"
HOST_RESERVED = "host_reserved"
HOST_TAKEN = "host_taken"


def reserved_namespace_pattern(name: str) -> str | None:
    """The reserved pattern `name` falls under, if any."""
    return next((pattern for pattern in settings.RESERVED_NAMESPACES if fnmatchcase(name, pattern)), None)


def check_tenant_slug(slug: str) -> None:
    """Refuse a slug that is a reserved name or whose every namespace (`<slug>--…`) would be one."""
    pattern = reserved_namespace_pattern(slug)
    if pattern:
        raise ApplicationError(
            f"“{slug}” is reserved for the platform (it matches “{pattern}”, kept for system "
            "namespaces); choose another slug.",
            code=RESERVED_NAME,
            field="slug",
        )
    pattern = reserved_namespace_pattern(f"{slug}--")
    if pattern:
        raise ApplicationError(
            f"“{slug}” is reserved for the platform: its namespaces ({slug}--…) would match "
            f"“{pattern}”, kept for system namespaces; choose another slug.",
            code=RESERVED_NAME,
            field="slug",
        )


def check_namespace(namespace: str, *, field: str = "name") -> None:
    """Refuse an environment whose namespace would be a system or reserved one."""
    pattern = reserved_namespace_pattern(namespace)
    if pattern:
        raise ApplicationError(
            f"This would make the namespace “{namespace}”, which is reserved for the platform "
            f"(it matches “{pattern}”); choose another name.",
            code=RESERVED_NAME,
            field=field,
        )


# --- Hosts -------------------------------------------------------------------------------------


DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def is_dns_name(name: str) -> bool:
    """A fully qualified DNS name of at least two labels, lower-case; an IP address is not one."""
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(DNS_LABEL_RE.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def normalize_host(host: str) -> str:
    return (host or "").strip().lower().rstrip(".")


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith(f".{domain}")


def portal_domains() -> list[str]:
    """The portal's own host names: no tenant may serve them or anything below them, since a
    subdomain can set cookies the portal would read."""
    names = {urlsplit(settings.PORTAL_URL).hostname or ""}
    names.update(host.lstrip(".") for host in settings.ALLOWED_HOSTS if host not in ("*", ""))
    names.update(normalize_host(host).lstrip("*.") for host in settings.RESERVED_HOSTS)
    return sorted(name for name in names if name)


def _reservation_of(host: str) -> DomainReservation | None:
    """The most specific operator reservation covering `host`."""
    labels = host.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    found = {row.domain: row for row in DomainReservation.objects.filter(domain__in=candidates)}
    return next((found[name] for name in candidates if name in found), None)


@lru_cache(maxsize=1)
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list the package ships; nothing is fetched


def registrable_domain(host: str) -> str:
    """The domain one owner registers (acme.co.uk for shop.acme.co.uk); the host itself if unknown."""
    return _public_suffixes().privatesuffix(host) or host


def check_host(*, tenant: Tenant, host: str, field: str = "ingress_host") -> str:
    """Refuse a host `tenant` may not route; return it normalised."""
    host = normalize_host(host)
    if any(_under(host, domain) for domain in portal_domains()):
        raise ApplicationError(
            f"“{host}” belongs to the platform itself and cannot be routed to an application.",
            code=HOST_RESERVED,
            field=field,
        )
    if _public_suffixes().is_public(host):
        raise ApplicationError(
            f"“{host}” is a public suffix that many owners share; name a host of your own domain.",
            code=HOST_RESERVED,
            field=field,
        )
    reservation = _reservation_of(host)
    if reservation is not None and reservation.tenant_id is None:
        raise ApplicationError(
            f"“{host}” is under {reservation.domain}, which the platform keeps; ask an operator "
            "for a domain of your own.",
            code=HOST_RESERVED,
            field=field,
        )
    if reservation is not None and reservation.tenant_id != tenant.pk:
        raise ApplicationError(
            f"“{host}” is under {reservation.domain}, which is reserved for another organization.",
            code=HOST_TAKEN,
            status=409,
            field=field,
        )
    return host


def _overlapping(host: str):
    """Claims of the host, of the domains above it up to its registrable domain, and of every host below
    it: each can set cookies the others read, so they all belong to one tenant."""
    labels = host.split(".")
    depth = len(registrable_domain(host).split("."))
    above = [".".join(labels[i:]) for i in range(max(len(labels) - depth + 1, 1))]
    return HostClaim.objects.filter(Q(host__in=above) | Q(host__endswith=f".{host}"))


def _lock_domain(host: str) -> None:
    """Serialise claims under one registrable domain until commit, so that of two tenants claiming a
    host and a host above or below it at once, exactly one wins."""
    lock_until_commit(registrable_domain(host))


@transaction.atomic
def host_claim(*, tenant: Tenant, host: str, field: str = "ingress_host") -> HostClaim:
    """Claim `host` for `tenant`, or find its existing claim. Refused with 409 when another tenant holds
    it, a domain above it or a host below it."""
    host = check_host(tenant=tenant, host=host, field=field)
    _lock_domain(host)
    claims = list(_overlapping(host))
    foreign = next((claim for claim in claims if claim.tenant_id != tenant.pk), None)
    if foreign is not None and foreign.host == host:
        raise ApplicationError(
            f"“{host}” is already in use by another organization; a host belongs to one.",
            code=HOST_TAKEN,
            status=409,
            field=field,
        )
    if foreign is not None:
        raise ApplicationError(
            f"“{host}” overlaps “{foreign.host}”, which another organization uses: a host, the "
            "domains above it and the hosts below it belong to one organization.",
            code=HOST_TAKEN,
            status=409,
            field=field,
        )
    own = next((claim for claim in claims if claim.host == host), None)
    return own or HostClaim.objects.create(tenant=tenant, host=host)


@transaction.atomic
def wildcard_claim(*, tenant: Tenant, host: str, field: str = "host") -> str:
    """Allow a wildcard host (`*.acme.example.com`) only under a domain operators reserved for `tenant`:
    a wildcard covers every name below it, which is only the tenant's to route when the platform says
    the whole domain is theirs. Returns the host normalised; refused with 400 naming the field."""
    host = normalize_host(host)
    base = host[2:] if host.startswith("*.") else ""
    if not is_dns_name(base):
        raise ApplicationError(
            f"“{host}” is not a wildcard host name; write it as *.example.com.", code="invalid", field=field
        )
    reservation = _reservation_of(base)
    if reservation is None or reservation.tenant_id != tenant.pk:
        raise ApplicationError(
            f"“{host}” is a wildcard under {base}, which is not reserved for your organization; an operator "
            "must reserve the domain for you before you can route every name below it.",
            code="invalid",
            field=field,
        )
    _lock_domain(base)
    return host


# --- Domains operators keep (operator console and API) ------------------------------------------


DOMAIN_TAKEN = "domain_taken"


@transaction.atomic
def domain_reserve(
    *, operator: Principal, domain: str, tenant: Tenant | None = None, note: str = ""
) -> DomainReservation:
    """Keep a domain for one tenant (only it may claim hosts under it) or for the platform (nobody may).
    Refused while another tenant holds a host under it: move or release those first."""
    from .services import require

    require(operator.is_operator, "Only platform operators reserve domains.")
    domain = normalize_host(domain)
    if not is_dns_name(domain):
        raise ApplicationError(
            f"“{domain}” is not a domain name, for example acme.example.com.", code="invalid", field="domain"
        )
    if DomainReservation.objects.filter(domain=domain).exists():
        raise ApplicationError(f"{domain} is already reserved.", code=DOMAIN_TAKEN, status=409, field="domain")
    others = HostClaim.objects.filter(Q(host=domain) | Q(host__endswith=f".{domain}"))
    if tenant is not None:
        others = others.exclude(tenant=tenant)
    held = sorted(others.values_list("host", flat=True)[:5])
    if held:
        raise ApplicationError(
            f"Hosts under {domain} are in use by other tenants ({', '.join(held)}).",
            code=DOMAIN_TAKEN,
            status=409,
            field="domain",
        )
    reservation = DomainReservation.objects.create(domain=domain, tenant=tenant, note=(note or "").strip())
    audit_record(
        actor=operator,
        action="domain.reserve",
        obj=reservation,
        tenant=tenant,
        changes={"domain": [None, domain], "tenant": [None, tenant.slug if tenant else "platform"]},
    )
    return reservation


@transaction.atomic
def domain_release(*, operator: Principal, reservation: DomainReservation) -> None:
    """Give a reserved domain back; hosts already claimed under it stay with their tenants."""
    from .services import require

    require(operator.is_operator, "Only platform operators release domains.")
    audit_record(
        actor=operator,
        action="domain.release",
        obj=reservation,
        tenant=reservation.tenant,
        changes={"domain": [reservation.domain, None]},
    )
    reservation.delete()


@transaction.atomic
def host_release(*, operator: Principal, claim: HostClaim) -> None:
    """Take a host back from a tenant (a squatted or abandoned name), so that another may claim it.
    Releases that name it keep their field; the next deploy of one claims the host again, if free."""
    from .services import require

    require(operator.is_operator, "Only platform operators release hosts.")
    audit_record(
        actor=operator, action="host.release", obj=claim, tenant=claim.tenant, changes={"host": [claim.host, None]}
    )
    claim.delete()
