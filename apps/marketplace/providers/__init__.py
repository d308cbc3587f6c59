"""Providers: what provisions, binds, unbinds and deprovisions an add-on, behind one protocol."""

from .base import Operation, Provider, ProviderError
from .incluster import InClusterProvider
from .osb import OsbProvider
from .postgres import PostgresProvider
from .redis import RedisProvider

__all__ = ["Operation", "Provider", "ProviderError", "provider_for"]

PROVIDERS: dict[str, type] = {
    "postgres": PostgresProvider,
    "redis": RedisProvider,
    "osb": OsbProvider,
    "incluster": InClusterProvider,
}


def provider_for(offering) -> Provider:
    """The provider of an offering, talking to the offering's server."""
    return PROVIDERS[offering.kind](offering.server.admin_url)
