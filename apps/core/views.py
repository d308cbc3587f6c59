"""Health endpoints and the friendly error pages."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import Refusal
from .health import run_checks


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. It touches nothing else, so a database outage never restarts pods."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: every dependency the portal needs, each with a detail; 503 when any is down."""
    ready, checks = run_checks()
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": {c.name: c.as_dict() for c in checks}},
        status=200 if ready else 503,
    )


def favicon(request):
    """Browsers (and the admin) ask for /favicon.ico; the icon lives with the other static files."""
    return redirect(static("img/favicon.svg"), permanent=True)


def is_api_request(request) -> bool:
    """The REST API answers in JSON whatever fails; the pages answer with the friendly templates."""
    return request.path.startswith("/api/")


def error_response(code: str, detail: str, status: int) -> JsonResponse:
    """The API's one error shape (apps/core/api.py) for errors raised outside DRF's views."""
    return JsonResponse({"code": code, "detail": detail}, status=status)


API_ERRORS = {
    400: ("invalid", "The request is malformed."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    413: ("request_too_large", "The request body is too large."),
    429: ("throttled", "Request was throttled."),
    500: ("server_error", "The server failed to answer; the request id in X-Request-ID identifies it."),
}


def wants_json(request) -> bool:
    return is_api_request(request) or "application/json" in request.headers.get("Accept", "")


def _error_page(request, template, status, context=None):
    if is_api_request(request):
        return error_response(*API_ERRORS[status], status)
    return render(request, template, context, status=status)


def bad_request(request, exception=None):
    # Django's own limits on form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) raise this.
    if isinstance(exception, RequestDataTooBig) and is_api_request(request):
        return error_response(*API_ERRORS[413], 413)
    return _error_page(request, "400.html", 400)


def permission_denied(request, exception=None):
    """The one refusal: a Refusal says why (the role needed, a suspended organization) on the page and,
    under Accept: application/json, as the API's error shape with the same detail."""
    if not isinstance(exception, Refusal):
        return _error_page(request, "403.html", 403)
    if wants_json(request):
        return JsonResponse({"code": exception.code, "detail": exception.detail, **exception.extra}, status=403)
    return render(request, "403.html", {"detail": exception.detail}, status=403)


def method_not_allowed(request, response):
    """A page answered 405 (GET on a form's POST-only action): say so and link back, keeping Allow."""
    allowed = response.get("Allow", "")
    friendly: HttpResponse
    if wants_json(request):
        detail = f"This address does not answer {request.method}; it answers {allowed}."
        friendly = error_response("method_not_allowed", detail, 405)
    else:
        friendly = render(request, "405.html", {"method": request.method, "allowed": allowed}, status=405)
    friendly["Allow"] = allowed
    return friendly


def page_not_found(request, exception=None):
    return _error_page(request, "404.html", 404)


def server_error(request):
    if is_api_request(request):
        return error_response(*API_ERRORS[500], 500)
    # No context processors: the database or Redis may be what failed.
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(
        loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    )


def too_many_requests(request, exception=None):
    return _error_page(request, "429.html", 429)
