"""A list filter that names a related row by id or by name, as API bodies do (`?environment=dev`)."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from apps.core.api import MAX_ID
from apps.core.numbers import digits

from .selectors import referable

ID_OR_NAME = {
    "oneOf": [
        {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID},
        {"type": "string", "minLength": 1},
    ]
}
ID_OR_NAME_PARAMETER = {
    "description": "By id (a whole number) or by name. A name is looked up in your tenants (only "
    "`tenant`'s when that is given); one that names nothing there is a 400. An id nobody lets you see "
    "is an empty list, like one that does not exist.",
    **ID_OR_NAME,
}


@extend_schema_field(ID_OR_NAME_PARAMETER)
class NamedFilter(django_filters.Filter):
    """A related row by id (a whole number) or by name (anything else).

    An id filters as IdFilter does, unchecked, so an id the caller cannot see is an empty list exactly
    like one that does not exist. A name is looked up among the rows of the caller's tenants (only
    `?tenant=`'s when given), since a name is only unique within a tenant: one that names nothing
    there is a 400 naming the filter, and another tenant's name reads exactly like a missing one.
    """

    field_class = forms.CharField

    def __init__(self, model, *, name_field: str = "name", **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)
        self.named_model = model
        self.name_field = name_field

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if digits(value):
            pk = int(value)
            return qs.filter(**{f"{self.field_name}_id": pk}) if pk <= MAX_ID else qs.none()
        request = getattr(self.parent, "request", None)
        if not hasattr(request, "query_params"):
            # A page's filters (no API request): its rows are the caller's already, and a name that
            # names none of them is an empty list, as a page's filter reads.
            return qs.filter(**{f"{self.field_name}__{self.name_field}": value})
        return qs.filter(**{f"{self.field_name}_id__in": self.named(value, request)})

    def named(self, value: str, request) -> list[int]:
        rows = referable(self.named_model, request).filter(**{self.name_field: value})
        tenant = request.query_params.get("tenant")
        if tenant:
            rows = rows.filter(tenant__slug=tenant)
        # PostgreSQL refuses NUL in text (a 500); no name has one, so such a value names nothing.
        ids = [] if "\x00" in value + (tenant or "") else list(rows.values_list("pk", flat=True))
        if not ids:
            where = f"tenant {tenant}" if tenant else "your tenants"
            noun = self.named_model._meta.verbose_name
            raise ValidationError({self.field_name: [f"No {noun} named “{value}” in {where}."]})
        return ids
