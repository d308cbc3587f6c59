"""An Open Service Broker API v2.17 client, so any real broker can back an offering.

The server's admin URL is the broker's base URL with its basic-auth credentials
(https://user:password@broker.example.com). An offering and its plans name the broker's service and
plan ids (`broker_id`). Instances and bindings are known to the broker by the portal's own ids (the
instance's uid; `<uid>-b<binding id>-<random>` for each credential of a binding, so a rotation's new
credential is a binding of its own at the broker). A broker that answers 202 works asynchronously:
provisioning and deprovisioning are polled at the instance's `last_operation`, binding and unbinding at
the binding's (`.../service_bindings/<id>/last_operation`), and the credentials of a binding made
asynchronously are fetched from the broker (`GET .../service_bindings/<id>`, which the broker must
offer: `bindings_retrievable`). The `operation` token a 202 carries is set on the row (the services save
it) and sent back with every poll, as the specification requires.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import requests

from .base import IN_PROGRESS, SUCCEEDED, Operation, ProviderError

API_VERSION = "2.17"
TIMEOUT = (5, 30)


class OsbProvider:
    """One broker, reached at its base URL with basic auth."""

    def __init__(self, admin_url: str):
        parts = urlsplit(admin_url)
        self.auth = (parts.username or "", parts.password or "")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    def _call(self, method: str, path: str, *, what: str, ok=(200, 201, 202), **kwargs) -> requests.Response:
        headers = {"X-Broker-API-Version": API_VERSION}
        try:
            response = requests.request(
                method, f"{self.base}{path}", auth=self.auth, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise ProviderError(f"The service broker does not answer: {exc.__class__.__name__}") from None
        if response.status_code not in ok:
            raise ProviderError(f"The service broker refused to {what}: {response.status_code} {_reason(response)}")
        return response

    def _ids(self, instance) -> dict:
        return {"service_id": instance.offering.broker_id, "plan_id": instance.plan.broker_id}

    def provision(self, instance) -> str:
        body = {
            **self._ids(instance),
            "organization_guid": instance.tenant.slug,
            "space_guid": instance.environment.namespace,
            "context": {
                "platform": "paas-portal",
                "tenant": instance.tenant.slug,
                "environment": instance.environment.name,
            },
        }
        response = self._call(
            "PUT",
            f"/v2/service_instances/{instance.uid}",
            what="provision",
            params={"accepts_incomplete": "true"},
            json=body,
        )
        instance.operation = _token(response) if response.status_code == 202 else ""
        return str(instance.uid)

    def deprovision(self, instance) -> Operation:
        response = self._call(
            "DELETE",
            f"/v2/service_instances/{instance.uid}",
            what="deprovision",
            ok=(200, 202, 410, 422),
            params={**self._ids(instance), "accepts_incomplete": "true"},
        )
        # 422: the broker is still busy with this instance (a deprovision asked for again): poll it
        if response.status_code == 202:
            instance.operation = _token(response)
        return IN_PROGRESS if response.status_code in (202, 422) else SUCCEEDED

    def credential_name(self, binding) -> str:
        return f"{binding.instance.uid}-b{binding.pk}-{secrets.token_hex(3)}"

    def _binding_path(self, binding) -> str:
        return f"/v2/service_instances/{binding.instance.uid}/service_bindings/{binding.username}"

    def bind(self, binding) -> dict[str, str] | None:
        instance = binding.instance
        body = {**self._ids(instance), "bind_resource": {"app_guid": binding.application.name}}
        response = self._call(
            "PUT",
            self._binding_path(binding),
            what="bind",
            ok=(200, 201, 202),
            params={"accepts_incomplete": "true"},
            json=body,
        )
        if response.status_code == 202:
            binding.operation = _token(response)
            return None
        return _credentials(response)

    def unbind(self, binding) -> Operation:
        response = self._call(
            "DELETE",
            self._binding_path(binding),
            what="unbind",
            ok=(200, 202, 410),
            params={**self._ids(binding.instance), "accepts_incomplete": "true"},
        )
        if response.status_code == 202:
            binding.operation = _token(response)
            return IN_PROGRESS
        return SUCCEEDED

    def binding_last_operation(self, binding) -> Operation:
        """410 means the binding is gone (an unbind finished); 404, that the broker never made it."""
        response = self._call(
            "GET",
            f"{self._binding_path(binding)}/last_operation",
            what="report on the binding",
            ok=(200, 404, 410),
            params=_with_operation(self._ids(binding.instance), binding.operation),
        )
        if response.status_code == 410:
            return Operation("succeeded", "Gone")
        if response.status_code == 404:
            return Operation("failed", "The service broker does not know this binding.")
        body = response.json() or {}
        return Operation(str(body.get("state", "in progress")), str(body.get("description") or ""))

    def binding_details(self, binding) -> dict[str, str]:
        return _credentials(self._call("GET", self._binding_path(binding), what="show the binding", ok=(200,)))

    def last_operation(self, instance) -> Operation:
        response = self._call(
            "GET",
            f"/v2/service_instances/{instance.uid}/last_operation",
            what="report",
            ok=(200, 410),
            params=_with_operation(self._ids(instance), instance.operation),
        )
        if response.status_code == 410:
            return Operation("succeeded", "Gone")
        body = response.json() or {}
        return Operation(str(body.get("state", "in progress")), str(body.get("description") or ""))

    def check(self) -> str:
        services = self._call("GET", "/v2/catalog", what="show its catalog").json().get("services", [])
        return f"Open Service Broker with {len(services)} service(s)"


def _token(response: requests.Response) -> str:
    """The `operation` a broker may give a 202, which it must get back when polled."""
    try:
        return str((response.json() or {}).get("operation") or "")[:200]
    except ValueError:
        return ""


def _with_operation(params: dict, operation: str) -> dict:
    return {**params, "operation": operation} if operation else params


def _credentials(response: requests.Response) -> dict[str, str]:
    """A binding's credentials as flat strings (nested values are left out: they are no variables)."""
    credentials = (response.json() or {}).get("credentials") or {}
    return {str(key): str(value) for key, value in credentials.items() if not isinstance(value, (dict, list))}


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    return str(body.get("description") or body.get("error") or response.reason or "")[:300]
