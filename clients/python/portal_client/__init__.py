"""A small client for the PaaS portal: `PortalClient` over the REST API, `watch` over the event
stream, and the `portalctl` command built on both."""

from .client import PortalClient, PortalError

__all__ = ["PortalClient", "PortalError"]
__version__ = "0.1.0"
