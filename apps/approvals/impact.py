"""The blast radius shown on a change request. The CMDB sits above approvals in the import order,
so it registers its analysis here when Django starts; without it, requests show no impact."""

from __future__ import annotations

from collections.abc import Callable

import structlog

logger = structlog.get_logger(__name__)

ImpactProvider = Callable[..., dict]
_providers: list[ImpactProvider] = []


def register_impact(provider: ImpactProvider) -> None:
    """`provider(application=..., environment=...)` returns a JSON-ready summary of what a change affects."""
    if provider not in _providers:
        _providers.append(provider)


def impact_of(change_request) -> dict:
    deployment = change_request.deployment
    if deployment is None or not _providers:
        return {}
    try:
        return _providers[0](application=deployment.application, environment=deployment.environment)
    except Exception:  # noqa: BLE001  (impact is advice: a failing analysis must not block the change)
        logger.exception("impact analysis failed", change_request=change_request.pk)
        return {"error": "The impact analysis failed; see the logs."}
