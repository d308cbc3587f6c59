"""API conventions shared by every app: one JSON error shape with a stable code."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc, context):
    """Every error is {"code", "detail"} plus "fields" for validation errors naming each field."""
    if isinstance(exc, ApplicationError):
        if exc.status == status.HTTP_404_NOT_FOUND:
            return Response({"code": "not_found", "detail": NotFound.default_detail}, status=404)
        body = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return Response(body, status=exc.status)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_404_NOT_FOUND:
        # One body for "missing" and "not yours", whatever raised it.
        response.data = {"code": "not_found", "detail": NotFound.default_detail}
        return response
    data = response.data
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(data, dict) and "detail" not in data:
        response.data = {"code": "invalid", "detail": "The request has invalid fields.", "fields": data}
    else:
        detail = data.get("detail") if isinstance(data, dict) else data
        code = (data.get("code") if isinstance(data, dict) else None) or getattr(detail, "code", None)
        response.data = {"code": str(code or getattr(exc, "default_code", "error")), "detail": str(detail)}
    return response


class DefaultCursorPagination(CursorPagination):
    """Keyset pagination: constant cost per page at any table size. `?page_size=` up to 100."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100


class RestrictedViewSetMixin:
    """The API side of the chokepoint: every queryset is `Model.objects.restrict(request, "view")`.

    Rows the caller may not see do not exist for them (404, same body as a missing row). Writes load
    the row through the same queryset, then a service checks the write rule (403 for a member who
    lacks it). `?tenant=<slug>` narrows any list to one tenant.
    """

    model = None
    tenant_lookup = "tenant__slug"

    def get_queryset(self):
        queryset = self.model.objects.restrict(self.request, "view")
        slug = self.request.query_params.get("tenant")
        if slug and self.tenant_lookup:
            queryset = queryset.filter(**{self.tenant_lookup: slug})
        return self.optimise(queryset)

    def optimise(self, queryset):
        """Add select_related/prefetch_related so a list costs the same queries at any length."""
        return queryset


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, building the FilterSet class of a view's `filterset_fields` once per
    view and model instead of on every request, and not at all when no filter is named (together a
    measurable share of a list's cost)."""

    _classes: dict = {}

    def filter_queryset(self, request, queryset, view):
        # A filter given no value filters nothing; most list calls name none, so skip binding the form.
        filterset_class = self.get_filterset_class(view, queryset)
        names = tuple(filterset_class.base_filters) if filterset_class else ()
        if not any(key.startswith(names) for key in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset_class(self, view, queryset=None):
        if getattr(view, "filterset_class", None) is not None or queryset is None:
            return super().get_filterset_class(view, queryset)
        key = (type(view), queryset.model)
        if key not in self._classes:
            self._classes[key] = super().get_filterset_class(view, queryset)
        return self._classes[key]
