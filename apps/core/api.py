"""API conventions shared by every app: one JSON error shape with a stable code."""

from collections.abc import Mapping
from typing import Any, NoReturn

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.plumbing import follow_field_source
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import SkipField
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.numbers import digits

from .errors import ApplicationError


# For a serializer that writes its rows as plain dicts (a list's rows read as values): times as DRF's
# DateTimeField writes them, with the request's time zone looked up once per page rather than for each field
# of each row as DRF does (through asgiref's Local: about twice what writing the time costs). No docstring:
# a serializer's class docstring, inherited, would be its schema's description.
class PlainTimes:
    @cached_property
    def _zone(self):
        return timezone.get_current_timezone()

    def _time(self, at) -> str | None:
        """ISO 8601 in the request's time zone, UTC as Z; None stays None."""
        if at is None:
            return None
        text = at.astimezone(self._zone).isoformat() if timezone.is_aware(at) else at.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def exception_handler(exc, context):
    """Every error is {"code", "detail"} plus "fields" for validation errors naming each field."""
    if isinstance(exc, ApplicationError):
        if exc.status == status.HTTP_404_NOT_FOUND:
            return Response({"code": "not_found", "detail": NotFound.default_detail}, status=404)
        body: dict[str, object] = {"code": exc.code, "detail": exc.message}
        fields = {field: messages for field, messages in exc.errors.items() if field != "__all__"}
        if fields:
            body["fields"] = fields
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


class EveryErrorSerializer(serializers.Serializer):
    """A body whose refusal names every field at fault at once. DRF stops at the fields' own errors
    (a number that is text), so the checks that come after them (the service's rules, run by the
    view) would only answer on the next try; here `further_checks` still runs on the fields that
    parsed and its refusals join the fields' own. A subclass's `validate` refuses through `refuse`,
    which does the same."""

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        """The checks that follow parsing, on `data` (the fields that parsed), raising one
        ApplicationError or ValidationError naming every field at fault; fields in `invalid` already
        have their error and are not checked again. None by default."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            if not isinstance(exc.detail, dict) or not isinstance(data, Mapping):
                raise  # not an object: nothing to check further
            errors = dict(exc.detail)
        parsed = {}
        for field in self._writable_fields:
            if field.field_name in errors:
                continue
            try:
                value = field.run_validation(field.get_value(data))
                check = getattr(self, f"validate_{field.field_name}", None)
                parsed[field.field_name] = check(value) if check is not None else value
            except (ValidationError, DjangoValidationError, SkipField):
                continue
        self.refuse(errors, parsed)

    def refuse(self, errors: dict, data: dict) -> NoReturn:
        """Refuse with `errors` and whatever `further_checks` finds in the rest of `data`."""
        invalid = set(errors)
        more: dict = {}
        try:
            self.further_checks(data, invalid)
        except ApplicationError as exc:
            more = exc.errors
        except ValidationError as exc:
            more = exc.detail if isinstance(exc.detail, dict) else {}
        for field, messages in more.items():
            if field not in invalid and field != "__all__":
                errors[field] = list(messages)
        raise ValidationError(errors)


def refuse_loose_types() -> None:
    """Fields take the JSON type the schema gives them. DRF turns a number into text (`{"name": 0}`
    renamed an environment to "0") and 0 or 1 into a boolean; here a number given for text or a
    boolean is a 400 naming the field (forms still send "true" and "on" as text). Called once from
    CoreConfig.ready(), so every serializer of every app gets it."""
    for field_class, refuses in (
        (serializers.CharField, lambda data: not isinstance(data, str)),
        (serializers.BooleanField, lambda data: isinstance(data, int | float) and not isinstance(data, bool)),
    ):
        lenient = field_class.to_internal_value
        if getattr(lenient, "strict", False):
            continue
        field_class.to_internal_value = _strict(lenient, refuses)  # type: ignore[method-assign]


def _strict(lenient, refuses):
    def to_internal_value(self, data):
        if refuses(data):
            self.fail("invalid", input=data)
        return lenient(self, data)

    to_internal_value.strict = True  # type: ignore[attr-defined]  # a mark: patched once only
    return to_internal_value


class DefaultCursorPagination(CursorPagination):
    """Keyset pagination: constant cost per page at any table size. `?page_size=` up to 100."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        # DRF falls back to the default on a malformed size; the schema says integer >= 1, so say 400.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: ["Give a whole number from 1 (100 at most are used)."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = f"Rows per page, from 1; more than {self.max_page_size} reads as that."
        return parameters


class RestrictedViewSetMixin:
    """The API side of the chokepoint: every queryset is `Model.objects.restrict(request, "view")`.

    Rows the caller may not see do not exist for them (404, same body as a missing row). Writes load
    the row through the same queryset, then a service checks the write rule (403 for a member who
    lacks it). `?tenant=<slug>` narrows any list to one tenant.
    """

    model: Any = None  # the model class each viewset sets
    request: Any  # the viewset's
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


MAX_ID = 2**63 - 1  # PostgreSQL's bigint


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A related row by id, as a whole number, never checked against any queryset: an id the caller
    cannot see then filters to an empty list exactly like one that does not exist (a model choice
    would answer 400 to the missing id and 200 to the foreign one, telling them apart)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra.setdefault("min_value", 0)  # ids are never negative; 0 names no row, like any unknown id

    def get_max_validator(self):
        return MaxValueValidator(MAX_ID)


class FilterSet(django_filters.rest_framework.FilterSet):
    """Base of the filtersets built from a view's `filterset_fields`: foreign keys filter by id."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
    }


BOOLEAN_VALUES = ("true", "false", "True", "False")


def query_flag(request, name: str) -> bool:
    """A boolean query parameter: absent is false; anything but true or false is a 400 naming it."""
    value = request.query_params.get(name)
    if value is None:
        return False
    if value not in BOOLEAN_VALUES:
        raise ValidationError({name: ["Give true or false."]})
    return value.lower() == "true"


def _is_integer_filter(filterset_class, spec) -> bool:
    """Whether the schema calls a number filter an integer: drf-spectacular does when the column it
    names is an integer one, so the same lookup decides here (IdFilter's form field checks itself)."""
    if isinstance(spec, IdFilter) or not spec.field_name or filterset_class._meta.model is None:
        return False
    field = follow_field_source(filterset_class._meta.model, spec.field_name.split("__"), emit_warnings=False)
    return isinstance(field, models.IntegerField | models.AutoField)


def refuse_malformed_filters(query_params, filterset_class) -> None:
    """400 for a filter value its schema type cannot hold, where django-filter would ignore it: an
    empty value of a typed filter (`?until=`) and a boolean that is not true or false (`?platform=null`)."""
    errors = {}
    for name, spec in filterset_class.base_filters.items():
        for value in query_params.getlist(name):
            if isinstance(spec, django_filters.BooleanFilter) and value not in BOOLEAN_VALUES:
                errors[name] = ["Give true or false."]
            elif value == "" and not isinstance(spec, django_filters.CharFilter):
                errors[name] = ["Give a value, or leave the filter out."]
            elif (
                isinstance(spec, django_filters.NumberFilter)
                and _is_integer_filter(filterset_class, spec)
                and not digits(value.removeprefix("-"))
            ):
                errors[name] = ["Give a whole number."]
    if errors:
        raise ValidationError(errors)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, building the FilterSet class of a view's `filterset_fields` once per
    view and model instead of on every request, and not at all when no filter is named (together a
    measurable share of a list's cost). Generated filtersets filter foreign keys by id (IdFilter)."""

    filterset_base = FilterSet
    _classes: dict = {}

    def filter_queryset(self, request, queryset, view):
        # A filter given no value filters nothing; most list calls name none, so skip binding the form.
        filterset_class = self.get_filterset_class(view, queryset)
        names = tuple(filterset_class.base_filters) if filterset_class else ()
        if not any(key.startswith(names) for key in request.query_params):
            return queryset
        refuse_malformed_filters(request.query_params, filterset_class)
        return super().filter_queryset(request, queryset, view)

    def get_filterset_class(self, view, queryset=None):
        if getattr(view, "filterset_class", None) is not None or queryset is None:
            return super().get_filterset_class(view, queryset)
        key = (type(view), queryset.model)
        if key not in self._classes:
            self._classes[key] = super().get_filterset_class(view, queryset)
        return self._classes[key]
