"""The seam through which a deployment learns how its pods pull images from the platform registry.

The deployments app sits below builds in the import order, so it cannot read the registry's
credentials. The builds app installs a source here when Django starts: for an image in the platform
registry it names the namespace's image pull Secret (the render adds it to the pod template's
`imagePullSecrets`) and gives the Secret itself (a `kubernetes.io/dockerconfigjson` holding the
tenant's pull credential), which the deployment applies before the pods. Images from anywhere else,
or a portal without a registry, get neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_name: Callable[[str], str | None] | None = None
_manifest: Callable[[str, Any], dict | None] | None = None


def install(name: Callable[[str], str | None], manifest: Callable[[str, Any], dict | None]) -> None:
    global _name, _manifest
    _name, _manifest = name, manifest


def secret_name(image: str) -> str | None:
    """The pull Secret pods running `image` name (pure: no database, no cluster)."""
    return _name(image) if _name is not None else None


def secret_manifest(image: str, environment: Any) -> dict | None:
    """The pull Secret to apply in the environment's namespace before pods running `image`."""
    return _manifest(image, environment) if _manifest is not None else None
