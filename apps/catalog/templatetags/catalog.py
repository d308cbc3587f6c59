"""How release values read on the pages: JSON for lists and objects, a dash for nothing."""

import json

from django import template

register = template.Library()


@register.filter
def spec_value(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)
