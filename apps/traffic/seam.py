"""The traffic app's source for apps/core/traffic.py: the routes the deployment render uses."""

from __future__ import annotations

from typing import Any

from . import services


class TrafficSource:
    """Routes made from releases' ingress hosts, and what they render to on the environment's cluster."""

    def route_for_release(self, *, release: Any, environment: Any, actor: Any) -> Any:
        return services.release_route(release=release, environment=environment, actor=actor)

    def route_objects(self, *, release: Any, environment: Any) -> list[dict] | None:
        return services.release_route_objects(release=release, environment=environment)

    def routes_removed(self, *, application: Any, environment: Any) -> None:
        services.routes_removed(application=application, environment=environment)
