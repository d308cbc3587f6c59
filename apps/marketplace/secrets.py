"""The Secret an application's add-on credentials live in, one per application and environment.

Its name is stable (`<application>-addons`), so the deployment render references it by name through
the seam in apps/core/addons.py; its data is every ready binding's variables, rewritten on each bind
and unbind (server-side apply drops keys no binding gives any more), and removed with the last one.
"""

from __future__ import annotations

import base64
import hashlib

from apps.clusters.services import kube_of
from apps.core.addons import AddonSecret

from .models import BindingState, ServiceBinding

LABEL = "paas.dev"


def secret_name(application) -> str:
    return f"{application.name}-addons"


def _bindings(application, environment):
    return (
        ServiceBinding.objects.filter(
            application=application, instance__environment=environment, state=BindingState.READY
        )
        .select_related("instance")
        .order_by("pk")
    )


def addon_secret(application, environment) -> AddonSecret | None:
    """What the render adds to the application's pods (installed as the seam's source): the Secret's
    name and a checksum of which bindings it holds, or None without any."""
    keys = [f"{binding.pk}:{binding.username}:{binding.env_prefix}" for binding in _bindings(application, environment)]
    if not keys:
        return None
    checksum = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    return AddonSecret(name=secret_name(application), checksum=checksum)


def secret_write(*, application, environment) -> None:
    """Write (or remove) the application's add-on Secret in the environment's namespace."""
    data: dict[str, str] = {}
    for binding in _bindings(application, environment):
        data.update(binding.credentials)
    with kube_of(environment) as kube:
        if not data:
            kube.delete("v1", "Secret", secret_name(application), environment.namespace)
            return
        kube.apply(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "Opaque",
                    "metadata": {
                        "name": secret_name(application),
                        "namespace": environment.namespace,
                        "labels": {
                            "app.kubernetes.io/managed-by": "paas-portal",
                            f"{LABEL}/tenant": environment.tenant.slug,
                            f"{LABEL}/environment": environment.name,
                            f"{LABEL}/application": application.name,
                        },
                    },
                    "data": {key: base64.b64encode(value.encode()).decode() for key, value in sorted(data.items())},
                }
            ]
        )
