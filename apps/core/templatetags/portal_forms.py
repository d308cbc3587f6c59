"""Render form widgets with Bootstrap classes, so templates need no per-field markup."""

from django import template
from django.forms import CheckboxInput, CheckboxSelectMultiple, RadioSelect, Select, SelectMultiple

register = template.Library()


@register.filter
def bootstrap(bound_field):
    """The field's widget with the Bootstrap class for its kind, marked invalid when it has errors."""
    widget = bound_field.field.widget
    if isinstance(widget, (CheckboxInput, RadioSelect)):
        css = "form-check-input"
    elif isinstance(widget, (Select, SelectMultiple)):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return bound_field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def is_checkbox(bound_field) -> bool:
    return isinstance(bound_field.field.widget, CheckboxInput)


@register.filter
def checkbox_options(bound_field) -> list:
    """The options of a multiple-checkbox field, each input styled as a Bootstrap check, for a
    template to lay out inline; the field's own wrapper is left out, so nothing overflows it."""
    if not isinstance(bound_field.field.widget, CheckboxSelectMultiple):
        return []
    options = list(bound_field.subwidgets)
    for option in options:
        option.data["attrs"]["class"] = "form-check-input" + (" is-invalid" if bound_field.errors else "")
    return options
