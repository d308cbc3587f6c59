"""Forms of the CMDB pages. They turn what people type (JSON for attributes, one label per line)
into the values the services take; the services decide what is valid."""

from __future__ import annotations

import json

from django import forms

from apps.tenants.forms import ServiceForm

from .choices import Provenance, RelationKind, Status
from .models import CIType, ConfigurationItem

JSON_AREA = {"rows": 4, "class": "font-monospace", "spellcheck": "false"}


def _labels_text(labels: dict) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))


class ItemForm(ServiceForm):
    ci_type = forms.ModelChoiceField(
        queryset=CIType.objects.filter(is_platform=False).order_by("name"), label="Type", to_field_name="slug"
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs=JSON_AREA), help_text="One name=value per line, e.g. tier=gold."
    )
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=JSON_AREA),
        help_text='A JSON object, checked against the type\'s schema, e.g. {"engine": "postgres"}.',
    )

    def __init__(self, *args, item: ConfigurationItem | None = None, **kwargs):
        if item is not None:
            kwargs.setdefault(
                "initial",
                {
                    "ci_type": item.ci_type.slug,
                    "name": item.name,
                    "description": item.description,
                    "labels": _labels_text(item.labels),
                    "attributes": json.dumps(item.declared_attributes, indent=2) if item.declared_attributes else "",
                },
            )
        super().__init__(*args, **kwargs)
        if item is not None:
            del self.fields["ci_type"]  # a type never changes: it decides the schema

    def clean_labels(self):
        labels = {}
        for line in (self.cleaned_data.get("labels") or "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise forms.ValidationError(f"“{line.strip()}” is not name=value.")
            labels[name.strip()] = value.strip()
        return labels

    def clean_attributes(self):
        text = (self.cleaned_data.get("attributes") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object.")
        return value


class ItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, item) -> str:
        return f"{item.name} ({item.ci_type.name}{', platform' if item.tenant_id is None else ''})"


class RelationshipForm(ServiceForm):
    kind = forms.ChoiceField(choices=RelationKind.choices, label="Relationship")
    target = ItemChoiceField(queryset=ConfigurationItem.objects.none(), label="Target item")
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets


class SearchForm(forms.Form):
    """The list page's search; its parameters are the API's and a saved filter's."""

    q = forms.CharField(required=False, label="Name or key")
    type = forms.ChoiceField(required=False)
    provenance = forms.ChoiceField(required=False, choices=[("", "Any provenance"), *Provenance.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    label = forms.CharField(required=False, help_text="name=value")
    attribute = forms.CharField(required=False, help_text="name=value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", "Any type"), *CIType.objects.order_by("name").values_list("slug", "name")]


class SaveFilterForm(ServiceForm):
    name = forms.CharField(max_length=100, label="Save this search as")


class ImportForm(ServiceForm):
    file = forms.FileField(
        help_text="CSV (columns key, type, name, description, labels, attributes; labels and "
        "attributes as JSON objects) or JSON (a list of objects with those fields)."
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run: report what would change")
    skip_invalid = forms.BooleanField(required=False, label="Skip invalid rows and import the rest")
