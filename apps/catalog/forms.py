"""Forms of the catalog pages. They turn what people type (one variable per line, JSON for probes)
into the values the services take; the services decide what is valid."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from apps.core.numbers import digits
from apps.tenants.forms import ServiceForm

from . import services
from .models import ComponentKind, Release, ServiceTemplate
from .selectors import tenant_members

PARAM_PREFIX = "param_"
TEXTAREA = {"rows": 3, "class": "font-monospace", "spellcheck": "false"}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class CatalogForm(ServiceForm):
    """A service refusal lands on its field; template parameters ("parameters.port") on their inputs."""

    def form_field(self, field: str | None) -> str | None:
        if field and field.startswith("parameters."):
            field = PARAM_PREFIX + field.removeprefix("parameters.")
        return super().form_field(field)


# --- Applications ------------------------------------------------------------------------------


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return f"{user.full_name} ({user.email})" if getattr(user, "full_name", "") else user.email


class ApplicationDetailsForm(CatalogForm):
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.CharField(required=False, max_length=100, help_text="The team that looks after it.")
    owner = MemberChoiceField(
        queryset=None,
        required=False,
        empty_label="Nobody in particular",
        help_text="A member of the organization who answers for it.",
    )
    repository_url = forms.CharField(
        required=False,
        max_length=300,
        label="Repository URL",
        widget=forms.URLInput(attrs={"placeholder": "https://github.com/acme/storefront"}),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = tenant_members(tenant)


class ApplicationEditForm(ApplicationDetailsForm):
    keep_image_tags = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1000,
        label="Image tags to keep",
        help_text="The platform registry keeps this many of the newest tags (never one a release or a running "
        "workload uses) and frees the rest. Empty: the operators' default.",
    )


class ApplicationForm(ApplicationDetailsForm):
    """A new application; with a template, its parameter schema becomes fields after the details."""

    name = forms.CharField(
        max_length=40,
        help_text="Lower-case letters, digits and hyphens. It names the "
        "application's objects in every cluster and never changes.",
    )
    component_kind = forms.ChoiceField(choices=ComponentKind.choices, label="Kind")
    field_order = ["name", "component_kind", "description", "team", "owner", "repository_url"]

    def __init__(self, *args, tenant, template: ServiceTemplate | None = None, **kwargs):
        super().__init__(*args, tenant=tenant, **kwargs)
        self.template = template
        if template is not None:
            del self.fields["component_kind"]
            schema = template.parameter_schema or {}
            required = schema.get("required", [])
            for name, prop in _in_form_order(schema.get("properties", {}), required):
                self.fields[PARAM_PREFIX + name] = parameter_field(name, prop, name in required)

    @property
    def parameter_fields(self):
        return [self[name] for name in self.fields if name.startswith(PARAM_PREFIX)]

    @property
    def detail_fields(self):
        return [self[name] for name in self.fields if not name.startswith(PARAM_PREFIX)]

    def service_arguments(self) -> dict:
        data = {key: value for key, value in self.cleaned_data.items() if not key.startswith(PARAM_PREFIX)}
        if self.template is not None:
            data["template"] = self.template
            data["parameters"] = {
                key.removeprefix(PARAM_PREFIX): value
                for key, value in self.cleaned_data.items()
                if key.startswith(PARAM_PREFIX) and value not in ("", None)
            }
        return data


def _in_form_order(properties: dict, required: list[str]) -> list[tuple[str, dict]]:
    """Required parameters in the schema's order, then the rest by title. (The database keeps JSON
    objects with their keys re-ordered, so the order the properties were written in is gone.)"""
    rest = sorted(
        (name for name in properties if name not in required),
        key=lambda name: (properties[name].get("title") or name).lower(),
    )
    return [(name, properties[name]) for name in [*required, *rest]]


def parameter_field(name: str, prop: dict, required: bool) -> forms.Field:
    """One form field for one schema property: an enum is a select, then boolean, integer or string."""
    options = {
        "label": prop.get("title") or name.replace("_", " ").capitalize(),
        "help_text": escape(prop.get("description", "")),
        "initial": prop.get("default"),
    }
    if "enum" in prop:
        values = {str(value): value for value in prop["enum"]}
        choices = ([] if required else [("", "—")]) + [(key, key) for key in values]
        return forms.TypedChoiceField(
            choices=choices, coerce=values.get, required=required, empty_value=None, **options
        )
    if prop.get("type") == "boolean":
        return forms.BooleanField(required=False, **options)
    if prop.get("type") == "integer":
        return forms.IntegerField(
            required=required, min_value=prop.get("minimum"), max_value=prop.get("maximum"), **options
        )
    return forms.CharField(required=required, max_length=prop.get("maxLength"), **options)


# --- Releases ----------------------------------------------------------------------------------


def _key_values(text: str, example: str) -> list[tuple[str, str]]:
    pairs = []
    for line in _lines(text):
        name, sep, value = line.partition("=")
        if not sep:
            raise ValidationError(f"Write “{line}” as {example}, one per line.")
        pairs.append((name.strip(), value.strip()))
    return pairs


class ReleaseForm(CatalogForm):
    """Every field of a release as text. Fields that do not apply to the application's kind are left
    out, so they keep their defaults."""

    image = forms.CharField(
        max_length=300,
        help_text="registry/repository:tag, or @sha256:… to pin a digest.",
        widget=forms.TextInput(attrs={"placeholder": "ghcr.io/acme/storefront:1.4.2"}),
    )
    command = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="Overrides the image's entrypoint; one argument per line.",
    )
    args = forms.CharField(
        required=False, label="Arguments", widget=forms.Textarea(attrs=TEXTAREA), help_text="One argument per line."
    )
    env = forms.CharField(
        required=False,
        label="Environment variables",
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="<code>NAME=value</code>, one per line.",
    )
    secret_refs = forms.CharField(
        required=False,
        label="Secret references",
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="<code>NAME=secret/key</code>, one per line: the variable NAME reads "
        "<code>key</code> of the Kubernetes Secret <code>secret</code>.",
    )
    ports = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="<code>name=port</code>, one per line, for example <code>http=8080</code>; "
        "add <code>/UDP</code> for UDP.",
    )
    replicas = forms.IntegerField(help_text="0 to 100.")
    cpu_request = forms.CharField(max_length=20, label="CPU request", help_text="250m, 0.5 or 2.")
    cpu_limit = forms.CharField(max_length=20, required=False, label="CPU limit")
    memory_request = forms.CharField(max_length=20, help_text="128Mi, 1Gi.")
    memory_limit = forms.CharField(max_length=20, required=False)
    liveness_probe = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text='JSON, for example <code>{"httpGet": {"path": "/healthz", "port": '
        '8080}, "periodSeconds": 10}</code>; empty for none.',
    )
    readiness_probe = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="JSON: one of <code>httpGet</code>, <code>tcpSocket</code> or <code>exec</code>; empty for none.",
    )
    ingress_host = forms.CharField(
        max_length=253, required=False, help_text="A DNS name, for example shop.acme.example.com."
    )
    ingress_path = forms.CharField(max_length=200, required=False, initial="/")
    autoscale_min = forms.IntegerField(required=False, label="Autoscale minimum")
    autoscale_max = forms.IntegerField(required=False, label="Autoscale maximum")
    autoscale_cpu_target = forms.IntegerField(required=False, label="Autoscale CPU target (%)")
    schedule = forms.CharField(
        max_length=100, required=False, help_text="Five fields, for example <code>*/15 * * * *</code>."
    )
    notes = forms.CharField(required=False, label="What changed", widget=forms.TextInput())

    # A first release starts from what a small service needs; later ones from the latest release.
    FIRST_RELEASE = {"replicas": 1, "cpu_request": "100m", "memory_request": "128Mi", "ingress_path": "/"}

    KIND_FIELDS = {
        "ingress_host": {ComponentKind.WEB},
        "ingress_path": {ComponentKind.WEB},
        "autoscale_min": {ComponentKind.WEB, ComponentKind.WORKER},
        "autoscale_max": {ComponentKind.WEB, ComponentKind.WORKER},
        "autoscale_cpu_target": {ComponentKind.WEB, ComponentKind.WORKER},
        "schedule": {ComponentKind.CRON},
    }

    GROUPS = [
        ("What runs", ["image", "command", "args"]),
        ("Configuration", ["env", "secret_refs"]),
        ("Network", ["ports", "ingress_host", "ingress_path"]),
        (
            "Scale and resources",
            [
                "replicas",
                "cpu_request",
                "cpu_limit",
                "memory_request",
                "memory_limit",
                "autoscale_min",
                "autoscale_max",
                "autoscale_cpu_target",
            ],
        ),
        ("Health checks", ["liveness_probe", "readiness_probe"]),
        ("Schedule", ["schedule"]),
        ("Release note", ["notes"]),
    ]

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name, kinds in self.KIND_FIELDS.items():
            if kind not in kinds:
                del self.fields[name]

    def further_checks(self, data: dict, invalid: set[str]) -> None:
        services.release_check(kind=self.kind, fields=data, invalid=invalid)

    def groups(self) -> list[tuple[str, list]]:
        """The form's fields in titled groups, skipping those this kind of application has not got."""
        found = [(title, [self[name] for name in names if name in self.fields]) for title, names in self.GROUPS]
        return [(title, fields) for title, fields in found if fields]

    def clean_command(self):
        return _lines(self.cleaned_data["command"])

    def clean_args(self):
        return _lines(self.cleaned_data["args"])

    def clean_env(self):
        return dict(_key_values(self.cleaned_data["env"], "NAME=value"))

    def clean_secret_refs(self):
        refs = []
        for name, target in _key_values(self.cleaned_data["secret_refs"], "NAME=secret/key"):
            secret, sep, key = target.partition("/")
            if not sep:
                raise ValidationError(f"Write {name}'s reference as {name}=secret/key.")
            refs.append({"name": name, "secret": secret.strip(), "key": key.strip()})
        return refs

    def clean_ports(self):
        return [_port(line) for line in _lines(self.cleaned_data["ports"])]

    def clean_liveness_probe(self):
        return _json_object(self.cleaned_data["liveness_probe"])

    def clean_readiness_probe(self):
        return _json_object(self.cleaned_data["readiness_probe"])

    @staticmethod
    def initial_from(release: Release) -> dict:
        """The form's text for an existing release, so "New release" starts from the latest one."""
        return {
            "image": release.image,
            "command": "\n".join(release.command),
            "args": "\n".join(release.args),
            "env": "\n".join(f"{name}={value}" for name, value in sorted(release.env.items())),
            "secret_refs": "\n".join(f"{ref['name']}={ref['secret']}/{ref['key']}" for ref in release.secret_refs),
            "ports": "\n".join(_port_text(port) for port in release.ports),
            "replicas": release.replicas,
            "cpu_request": release.cpu_request,
            "cpu_limit": release.cpu_limit,
            "memory_request": release.memory_request,
            "memory_limit": release.memory_limit,
            "liveness_probe": json.dumps(release.liveness_probe) if release.liveness_probe else "",
            "readiness_probe": json.dumps(release.readiness_probe) if release.readiness_probe else "",
            "ingress_host": release.ingress_host,
            "ingress_path": release.ingress_path,
            "autoscale_min": release.autoscale_min,
            "autoscale_max": release.autoscale_max,
            "autoscale_cpu_target": release.autoscale_cpu_target,
            "schedule": release.schedule,
        }


def _port(line: str) -> dict:
    name, sep, rest = line.rpartition("=")
    number, _, protocol = rest.partition("/")
    if not digits(number.strip()):
        raise ValidationError(f"“{line}” is not a port: write name=8080 or just 8080.")
    port = {"name": name.strip(), "port": int(number)} if sep and name.strip() else {"port": int(number)}
    if protocol.strip():
        port["protocol"] = protocol.strip().upper()
    return port


def _port_text(port: dict) -> str:
    text = f"{port['name']}={port['port']}" if port.get("name") else str(port["port"])
    return text + (f"/{port['protocol']}" if port.get("protocol", "TCP") != "TCP" else "")


def _json_object(text: str):
    if not (text or "").strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None


class CompareForm(forms.Form):
    """Two release numbers of one application, read from the query string (whether both exist is the
    view's question: an application may have thousands, too many to offer as choices)."""

    before = forms.IntegerField(label="From release", min_value=1, max_value=2**31 - 1)
    after = forms.IntegerField(label="To release", min_value=1, max_value=2**31 - 1)


# --- Service templates (operators) -------------------------------------------------------------


class TemplateForm(CatalogForm):
    slug = forms.CharField(max_length=40, help_text="Publishing an existing slug makes its next version.")
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    component_kind = forms.ChoiceField(choices=ComponentKind.choices, label="Kind")
    parameter_schema = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={**TEXTAREA, "rows": 10}),
        help_text='A JSON schema: <code>{"type": "object", "required": ["image"], "properties": {"image": '
        '{"type": "string"}}}</code>. Properties are strings, integers, booleans or enums.',
    )
    defaults = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={**TEXTAREA, "rows": 6}),
        help_text='Release fields a new application starts with, as JSON, for example <code>{"cpu_request": '
        '"100m", "memory_request": "256Mi"}</code>. A parameter named after a release field (or '
        "<code>port</code>) overrides them.",
    )

    def clean_parameter_schema(self):
        return _json_object(self.cleaned_data["parameter_schema"])

    def clean_defaults(self):
        return _json_object(self.cleaned_data["defaults"])

    @staticmethod
    def initial_from(template: ServiceTemplate) -> dict:
        return {
            "slug": template.slug,
            "name": template.name,
            "description": template.description,
            "component_kind": template.component_kind,
            "parameter_schema": json.dumps(template.parameter_schema, indent=2),
            "defaults": json.dumps(template.defaults, indent=2),
        }
