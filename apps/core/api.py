"""API conventions shared by every app: one JSON error shape with a stable code."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    """Every error is {"code", "detail"} plus "fields" for validation errors naming each field."""
    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return Response(body, status=exc.status)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(data, dict) and "detail" not in data:
        response.data = {"code": "invalid", "detail": "The request has invalid fields.", "fields": data}
    else:
        detail = data.get("detail") if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"code": code, "detail": str(detail)}
    return response
