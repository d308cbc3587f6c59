"""The seam through which a deployment's render uses the application's route.

The deployments app renders a release and sits below the traffic app in the import order, so it
cannot read routes. The traffic app installs a source here when Django starts: `route_objects` gives
the objects the cluster's renderer makes of the route serving a release's ingress host in an
environment (an Ingress or an HTTPRoute), and `route_for_release` makes that route the first time
the release is deployed there, claiming the host. `routes_removed` tells the routes that removing
the application from the environment took their objects away. Without a source, the render keeps its
own plain Ingress.
"""

from __future__ import annotations

from typing import Any, Protocol


class TrafficSource(Protocol):
    def route_for_release(self, *, release: Any, environment: Any, actor: Any) -> Any: ...

    def route_objects(self, *, release: Any, environment: Any) -> list[dict] | None: ...

    def routes_removed(self, *, application: Any, environment: Any) -> None: ...


_source: TrafficSource | None = None


def install(source: TrafficSource) -> None:
    global _source
    _source = source


def route_for_release(*, release: Any, environment: Any, actor: Any) -> Any:
    """Make (or find) the route of a release's ingress host in an environment; None without a source."""
    return _source.route_for_release(release=release, environment=environment, actor=actor) if _source else None


def route_objects(*, release: Any, environment: Any) -> list[dict] | None:
    """The rendered objects of the release's route in the environment, or None to render a plain Ingress."""
    return _source.route_objects(release=release, environment=environment) if _source else None


def routes_removed(*, application: Any, environment: Any) -> None:
    """The application was removed from the environment, its routes' objects with it: say so on the routes."""
    if _source:
        _source.routes_removed(application=application, environment=environment)
