"""`Idempotency-Key` for API writes that start work: a retried request gets the first answer back.

A client that timed out cannot tell whether its POST happened. Sending the same `Idempotency-Key`
again returns the stored response of the first successful attempt (same status and body, with
`Idempotent-Replayed: true`) instead of acting twice. Keys are remembered for 24 hours per caller
(API key or user) and endpoint; reusing one with a different body is refused with 422
`idempotency_key_reused`, and a retry that arrives while the first attempt still runs gets 409
`idempotency_key_in_flight`. Only successes are stored: after an error the retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.core.cache import cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from .errors import ApplicationError

HEADER = "Idempotency-Key"
TTL_SECONDS = 24 * 60 * 60
# Long enough for the slowest write to finish; a crashed attempt frees its key after this.
IN_FLIGHT_SECONDS = 60
MAX_KEY_LENGTH = 255
KEY_REUSED = "idempotency_key_reused"
KEY_IN_FLIGHT = "idempotency_key_in_flight"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID). A retry with the same key and body within 24 hours returns the "
    "first response (header Idempotent-Replayed: true) instead of acting twice; the same key with "
    "another body is refused with 422 idempotency_key_reused.",
)


def idempotent(view_method):
    """Decorate a DRF view method (create, or a POST action) to honour the Idempotency-Key header.

    Put it on top, above @extend_schema and @action: it keeps their marks and adds the header to the schema.
    """

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApplicationError(f"{HEADER} is longer than {MAX_KEY_LENGTH} characters.", code="invalid")
        slot = _slot(request, key)
        fingerprint = _fingerprint(request, kwargs)
        if not cache.add(slot, {"fingerprint": fingerprint, "pending": True}, IN_FLIGHT_SECONDS):
            return _replay(cache.get(slot), fingerprint)
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            cache.delete(slot)
            raise
        if 200 <= response.status_code < 300:
            cache.set(
                slot,
                {"fingerprint": fingerprint, "status": response.status_code, "body": _plain(response.data)},
                TTL_SECONDS,
            )
        else:
            cache.delete(slot)
        return response

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)


def _replay(stored: dict | None, fingerprint: str) -> Response:
    if stored is not None and stored["fingerprint"] != fingerprint:
        raise ApplicationError(f"This {HEADER} was used for a different request.", code=KEY_REUSED, status=422)
    if stored is None or stored.get("pending"):
        raise ApplicationError(
            f"A request with this {HEADER} is still being processed; retry shortly.", code=KEY_IN_FLIGHT, status=409
        )
    return Response(stored["body"], status=stored["status"], headers={"Idempotent-Replayed": "true"})


def _slot(request, key: str) -> str:
    auth = getattr(request, "auth", None)
    caller = f"key:{auth.pk}" if auth is not None and getattr(auth, "is_api_key", False) else f"user:{request.user.pk}"
    digest = hashlib.sha256(f"{caller}\n{request.method}\n{request.path}\n{key}".encode()).hexdigest()
    return f"idempotency:{digest}"


def _fingerprint(request, url_kwargs: dict) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict from a form body
        data = {name: values for name, values in data.lists()}
    body = json.dumps([data, url_kwargs], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _plain(data):
    """The serializer's output as plain JSON types, so the cache stores no DRF classes."""
    return json.loads(json.dumps(data, default=str))
