"""Showing audit changes in a table cell."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder

register = template.Library()


@register.filter
def compact_json(value) -> str:
    """One-line JSON, keys sorted, so rows compare at a glance."""
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
