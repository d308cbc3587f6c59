"""Reads of routes, through the restricted querysets (the operator's reads say so in their names)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Route


def routes_for(principal, tenant, *, application=None) -> QuerySet[Route]:
    """The tenant's routes the principal may see, by environment then host and path."""
    routes = Route.objects.restrict(principal, "view").filter(tenant=tenant)
    if application is not None:
        routes = routes.filter(application=application)
    return routes.select_related("tenant", "environment", "application").order_by("environment__name", "host", "path")


def route_for(principal, tenant, pk: int, action: str = "view") -> Route | None:
    return (
        Route.objects.restrict(principal, action)
        .filter(tenant=tenant, pk=pk)
        .select_related("tenant", "environment", "application")
        .first()
    )


def routes_of_every_tenant() -> QuerySet[Route]:
    """Every route, for the operator's view of hosts (its permission decided who asks)."""
    return Route.objects.select_related("tenant", "environment", "application").order_by("host", "path")


def routes_of_hosts(hosts: list[str]) -> dict[str, list[Route]]:
    """host -> its routes, for the operator's list of claimed hosts."""
    found: dict[str, list[Route]] = {host: [] for host in hosts}
    for route in routes_of_every_tenant().filter(host__in=hosts):
        found[route.host].append(route)
    return found


def wildcard_routes() -> QuerySet[Route]:
    """Every wildcard route (`*.domain`), which no host claim lists, for the operator's view of hosts."""
    return routes_of_every_tenant().filter(host__startswith="*.")
