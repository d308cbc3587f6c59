"""A small typed SDK over the portal's REST API (`/api/v1/`), authenticated by an API key.

Every error the API returns has one shape, `{"code", "detail", "fields"?}`; the client raises it as
one `PortalError`. Lists follow the cursor pagination's `next` links, so callers see plain iterators.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

API_PREFIX = "/api/v1"
USER_AGENT = "portalctl/0.1"


@dataclass
class PortalError(Exception):
    """An error the portal answered with (or could not be reached for: status 0)."""

    status: int
    code: str
    detail: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [self.detail]
        for name, messages in self.fields.items():
            for message in messages if isinstance(messages, list) else [messages]:
                lines.append(f"  {name}: {message}")
        return "\n".join(lines)


class PortalClient:
    """The portal's API as Python methods. `base_url` is the portal's address, e.g. http://127.0.0.1:8000."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}
        )

    # --- transport ------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{API_PREFIX}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One call; returns the decoded body (None for 204) or raises PortalError."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.session.request(
                method, self.url(path), params=params, json=json, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise PortalError(0, "unreachable", f"Cannot reach the portal at {self.base_url}: {error}") from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise _error(response, body)
        return body

    def upload(self, path: str, data: dict, files: dict) -> Any:
        """A multipart POST (a build's context); returns the decoded body or raises PortalError."""
        try:
            response = self.session.post(self.url(path), data=data, files=files, timeout=max(self.timeout, 300))
        except requests.RequestException as error:
            raise PortalError(0, "unreachable", f"Cannot reach the portal at {self.base_url}: {error}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise _error(response, body)
        return body

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict | None = None, *, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json=data or {}, idempotency_key=idempotency_key)

    def paginate(self, path: str, *, limit: int | None = None, **params) -> Iterator[dict]:
        """Every row of a list, page after page through the `next` links (at most `limit` rows)."""
        body = self.get(path, **params)
        count = 0
        while True:
            rows = body if isinstance(body, list) else body.get("results", [])
            for row in rows:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield row
            following = None if isinstance(body, list) else body.get("next")
            if not following:
                return
            body = self.get(following)

    # --- who am I ------------------------------------------------------------------------------

    def me(self) -> dict:
        return self.get("/me/")

    # --- catalog -------------------------------------------------------------------------------

    def applications(
        self, *, tenant: str | None = None, name: str | None = None, limit: int | None = None
    ) -> Iterator[dict]:
        return self.paginate("/applications/", tenant=tenant, name=name, limit=limit)

    def application(self, ref: int | str, *, tenant: str | None = None) -> dict:
        """An application by id, or by name (unique within a tenant)."""
        if isinstance(ref, int) or str(ref).isdigit():
            return self.get(f"/applications/{int(ref)}/")
        matches = list(self.applications(tenant=tenant, name=str(ref)))
        if len(matches) != 1:
            detail = (
                f"No application named “{ref}”."
                if not matches
                else f"More than one application is named “{ref}”; pass --tenant or the id."
            )
            raise PortalError(404 if not matches else 400, "not_found" if not matches else "ambiguous", detail)
        return matches[0]

    def create_application(self, *, tenant: str, name: str, component_kind: str = "web", **fields) -> dict:
        return self.post("/applications/", {"tenant": tenant, "name": name, "component_kind": component_kind, **fields})

    def releases(
        self, *, application: int | None = None, tenant: str | None = None, limit: int | None = None
    ) -> Iterator[dict]:
        return self.paginate("/releases/", application=application, tenant=tenant, limit=limit)

    def release(self, release_id: int) -> dict:
        return self.get(f"/releases/{int(release_id)}/")

    def create_release(
        self,
        *,
        application: dict | int,
        image: str,
        tenant: str | None = None,
        idempotency_key: str | None = None,
        **fields,
    ) -> dict:
        """Cut the application's next release. Omitted fields take the API's defaults."""
        app = application if isinstance(application, dict) else self.application(application)
        body = {"tenant": tenant or app["tenant"], "application": app["id"], "image": image, **fields}
        return self.post("/releases/", body, idempotency_key=idempotency_key)

    # --- environments and deployments ----------------------------------------------------------

    def environments(self, *, tenant: str | None = None, name: str | None = None) -> Iterator[dict]:
        return self.paginate("/environments/", tenant=tenant, name=name)

    def environment(self, name: str, *, tenant: str) -> dict:
        matches = list(self.environments(tenant=tenant, name=name))
        if not matches:
            raise PortalError(404, "not_found", f"No environment named “{name}” in {tenant}.")
        return matches[0]

    def deployments(
        self, *, state: str | None = None, tenant: str | None = None, limit: int | None = None
    ) -> Iterator[dict]:
        return self.paginate("/deployments/", state=state, tenant=tenant, limit=limit)

    def deployment(self, deployment_id: int) -> dict:
        return self.get(f"/deployments/{int(deployment_id)}/")

    def deploy(
        self,
        *,
        release: int,
        environment: str | int,
        application: str | int | None = None,
        tenant: str | None = None,
        justification: str | None = None,
        strategy: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        """Deploy a release to an environment (by name or id). With `application` (name or id), `release` is
        the release number within it; without, a release id. A fresh Idempotency-Key is sent unless one is
        given, so retrying this call after a timeout never starts a second deployment."""
        if tenant is None:
            tenant = (self.release(release) if application is None else self.application(application))["tenant"]
        body: dict = {"tenant": tenant, "release": release, "environment": environment}
        if application is not None:
            body["application"] = application
        if justification:
            body["justification"] = justification
        if strategy:
            body["strategy"] = strategy
        return self.post("/deployments/", body, idempotency_key=idempotency_key or str(uuid.uuid4()))

    # --- builds --------------------------------------------------------------------------------

    def build(
        self,
        *,
        tenant: str,
        application: str,
        context: bytes,
        tag: str = "",
        dockerfile: str = "Dockerfile",
        create_release: bool = False,
    ) -> dict:
        """Upload a .tar.gz build context and queue its build."""
        fields = {"tenant": tenant, "application": application, "dockerfile": dockerfile, "tag": tag}
        fields["create_release"] = "true" if create_release else "false"
        return self.upload("/builds/", fields, {"context": ("context.tar.gz", context, "application/gzip")})

    def build_status(self, build_id: int) -> dict:
        return self.get(f"/builds/{int(build_id)}/")

    def build_log(self, build_id: int, *, after_seq: int = 0) -> list[dict]:
        return self.get(f"/builds/{int(build_id)}/log/", after_seq=after_seq)

    def events(self, deployment_id: int, *, after_seq: int = 0) -> list[dict]:
        """The deployment's events with a seq above `after_seq`, in order (up to 1000 per call)."""
        return self.get(f"/deployments/{int(deployment_id)}/events/", after_seq=after_seq)

    def rollback(self, deployment_id: int, *, reason: str = "", idempotency_key: str | None = None) -> dict:
        return self.post(
            f"/deployments/{int(deployment_id)}/rollback/",
            {"reason": reason},
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    # --- approvals -----------------------------------------------------------------------------

    def change_requests(
        self, *, waiting_for_me: bool = False, state: str | None = None, limit: int | None = None
    ) -> Iterator[dict]:
        return self.paginate(
            "/change-requests/", waiting_for_me="true" if waiting_for_me else None, state=state, limit=limit
        )

    def change_request(self, change_request_id: int) -> dict:
        return self.get(f"/change-requests/{int(change_request_id)}/")

    def approve(self, change_request_id: int, *, comment: str = "", idempotency_key: str | None = None) -> dict:
        return self.post(
            f"/change-requests/{int(change_request_id)}/approve/",
            {"comment": comment},
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    def reject(self, change_request_id: int, *, comment: str, idempotency_key: str | None = None) -> dict:
        return self.post(
            f"/change-requests/{int(change_request_id)}/reject/",
            {"comment": comment},
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    # --- audit ---------------------------------------------------------------------------------

    def audit_events(
        self,
        *,
        tenant: str | None = None,
        action: str | None = None,
        created_after: str | None = None,
        limit: int | None = None,
    ) -> Iterator[dict]:
        """Audit events, newest first."""
        return self.paginate("/audit-events/", tenant=tenant, action=action, created_after=created_after, limit=limit)

    # --- the event stream ----------------------------------------------------------------------

    def websocket_url(self, path: str) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, f"{parts.path.rstrip('/')}{path}", "", ""))


def _error(response: requests.Response, body: Any) -> PortalError:
    if isinstance(body, dict) and "code" in body:
        return PortalError(
            response.status_code, str(body["code"]), str(body.get("detail", "")), body.get("fields") or {}
        )
    text = (response.text or response.reason or "").strip()[:300]
    return PortalError(response.status_code, f"http_{response.status_code}", text or f"HTTP {response.status_code}")
