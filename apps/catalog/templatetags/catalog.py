"""How release and attribute values read on the pages: JSON for commands and probes, words for the
rest (`readable`), a dash for nothing. No page shows a Python repr."""

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


@register.filter
def readable(value) -> str:
    """A stored value in words: `name=http, port=80` for an object, items separated by `; `, yes/no
    for a boolean, a dash for nothing; nested objects in parentheses."""
    return _readable(value, nested=False)


def _readable(value, nested: bool) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        text = ", ".join(f"{key}={_readable(item, True)}" for key, item in sorted(value.items()))
        return f"({text})" if nested else text
    if isinstance(value, list):
        several = len(value) > 1
        text = "; ".join(_readable(item, several) if isinstance(item, (list, dict)) else str(item) for item in value)
        return f"({text})" if nested and several else text
    return str(value)
