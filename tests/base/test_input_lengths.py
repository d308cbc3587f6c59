"""No input is longer than its column: every text field of every form and API body has a bound no
larger than the column it is stored in, and an over-long value is refused with a 400 or a form error
naming the field, never a 500 (`DataError: value too long for type character varying`).

The forms and serializers are enumerated, not listed: every form class of the apps, and the request
serializer of every write operation the API router registers (what the OpenAPI schema documents)."""

import importlib
import pkgutil

import pytest
from django import forms
from django.apps import apps as registry
from django.db import models
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

import apps as apps_package
from apps.accounts.models import SingleSignOn
from apps.apikeys.models import APIKey
from apps.approvals.models import ApprovalStage, FreezeWindow
from apps.catalog.models import Application, ImageRule, ServiceTemplate
from apps.clusters.models import Cluster
from apps.cmdb.models import CIType, ConfigurationItem, SavedFilter
from apps.marketplace.models import ServiceInstance, ServiceOffering, ServicePlan, SharedServer
from apps.tenants.models import DomainReservation, Environment, Tenant
from apps.traffic.models import ConsumerKey, Route, UsagePlan

from .api_cases import API_CASES
from .page_cases import PAGE_CASES

# Where a form's or body's field names match columns of several models of its app, the model it writes
# (by class name, or module and name where two classes share one).
WRITES = {
    "TenantCreateForm": Tenant,
    "APIKeyForm": APIKey,
    "FreezeWindowForm": FreezeWindow,
    "TemplateForm": ServiceTemplate,
    "ItemForm": ConfigurationItem,
    "ApplicationForm": Application,
    "ApplicationDetailsForm": Application,
    "SaveFilterForm": SavedFilter,
    "EnvironmentForm": Environment,
    "APIKeyCreateSerializer": APIKey,
    "StageSerializer": ApprovalStage,
    "FreezeWindowCreateSerializer": FreezeWindow,
    "ApplicationCreateSerializer": Application,
    "CITypeUpdateSerializer": CIType,
    "ItemCreateSerializer": ConfigurationItem,
    "ItemUpdateSerializer": ConfigurationItem,
    "EnvironmentUpdateSerializer": Environment,
    "TenantUpdateSerializer": Tenant,
    "ClusterRegisterForm": Cluster,
    "ClusterRegisterSerializer": Cluster,
    "ClusterTrafficSerializer": Cluster,
    "DomainForm": DomainReservation,
    "ImageRuleForm": ImageRule,
    "ImageRuleSerializer": ImageRule,
    "ServiceInstanceCreateSerializer": ServiceInstance,
    "InstanceForm": ServiceInstance,
    "OfferingForm": ServiceOffering,
    "apps.operator.addons.PlanForm": ServicePlan,  # not the API plans' PlanForm
    "ServerForm": SharedServer,
    "SingleSignOnForm": SingleSignOn,
    "RouteCreateSerializer": Route,
    "UsagePlanCreateSerializer": UsagePlan,
    "UsagePlanFieldsSerializer": UsagePlan,
    "ConsumerKeyCreateSerializer": ConsumerKey,
    "UsagePlanForm": UsagePlan,
    "ConsumerKeyForm": ConsumerKey,
}
TOO_LONG = 10_000  # longer than any column


def _all_forms() -> list[type[forms.BaseForm]]:
    for module in pkgutil.walk_packages(apps_package.__path__, "apps."):
        if ".migrations" not in module.name and ".management" not in module.name:
            importlib.import_module(module.name)

    def below(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    return sorted({c for c in below(forms.BaseForm) if c.__module__.startswith("apps.")}, key=str)


def _write_serializers() -> list[type[serializers.Serializer]]:
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found = set()
    for _, _, method, view in generator._get_paths_and_endpoints():
        body = view.schema.get_request_serializer() if method in ("POST", "PUT", "PATCH") else None
        if isinstance(body, serializers.BaseSerializer):
            body = type(body)
        if isinstance(body, type) and issubclass(body, serializers.Serializer):
            found.add(body)
    return sorted(found, key=str)


def _text_fields(serializer: serializers.Serializer):
    """Writable text fields, nested serializers included, as (serializer, field)."""
    for field in serializer.fields.values():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.Serializer):
            yield from _text_fields(field)
        elif isinstance(field, serializers.CharField):
            yield serializer, field


def _column(owner: type, app_label: str, name: str, model: type | None):
    """The text column a field is stored in, or None when it names no column (parsed, or a lookup)."""
    model = WRITES.get(f"{owner.__module__}.{owner.__name__}", WRITES.get(owner.__name__, model))
    # The operator app keeps no rows of its own: its pages and API write other apps' models.
    own = list(registry.get_app_config(app_label).get_models())
    candidates = [model] if model else own or [m for m in registry.get_models() if m.__module__.startswith("apps.")]
    columns = []
    for candidate in candidates:
        try:
            column = candidate._meta.get_field(name)
        except Exception:  # noqa: BLE001 (FieldDoesNotExist; a reverse relation is no column either)
            continue
        if isinstance(column, models.CharField | models.TextField):
            columns.append(column)
    assert len({(c.max_length, type(c)) for c in columns}) <= 1, (
        f"{owner.__name__}.{name} could be stored in {columns}: say which model it writes in WRITES"
    )
    return columns[0] if columns else None


def _check_bound(owner, name, limit, column):
    if column is None or isinstance(column, models.TextField) or column.max_length is None:
        return
    assert limit is not None, f"{owner.__module__}.{owner.__name__}.{name} has no max_length; {column} has"
    assert limit <= column.max_length, (
        f"{owner.__name__}.{name} takes {limit} characters; {column} holds {column.max_length}"
    )


@pytest.mark.parametrize("form_class", _all_forms(), ids=lambda c: c.__name__)
def test_every_form_field_fits_its_column_and_refuses_more(form_class):
    app_label = form_class.__module__.split(".")[1]
    model = form_class._meta.model if issubclass(form_class, forms.ModelForm) else None
    for name, field in form_class.base_fields.items():
        if not isinstance(field, forms.CharField):
            continue
        _check_bound(form_class, name, field.max_length, _column(form_class, app_label, name, model))
        if field.max_length is not None:
            with pytest.raises(forms.ValidationError):
                field.clean("a" * (field.max_length + 1))


@pytest.mark.django_db  # unique validators look the value up
@pytest.mark.parametrize("serializer_class", _write_serializers(), ids=lambda c: c.__name__)
def test_every_api_body_field_fits_its_column_and_refuses_more(serializer_class):
    for serializer, field in _text_fields(serializer_class(context={"request": None})):
        owner = type(serializer)
        model = getattr(getattr(owner, "Meta", None), "model", None)
        column = _column(owner, owner.__module__.split(".")[1], field.source.split(".")[-1], model)
        _check_bound(owner, field.field_name, field.max_length, column)
        if field.max_length is not None:
            with pytest.raises(serializers.ValidationError):
                field.run_validation("a" * (field.max_length + 1))


# --- Over HTTP: every API create body and every page form with a valid submission ---------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", [case for case in API_CASES if case.create], ids=str)
def test_an_over_long_value_in_any_api_body_field_is_never_a_500(case, world, api):
    from django.urls import reverse

    api.as_user(world.user("owner"))
    body = case.create(world)
    for name, value in body.items():
        if not isinstance(value, str) or name == "tenant":
            continue
        response = api.post(reverse(f"{case.basename}-list"), {**body, name: "a" * TOO_LONG}, format="json")
        assert response.status_code < 500, (name, response.status_code)
        if response.status_code != 201:
            assert response.status_code == 400 and name in response.json().get("fields", {}), (name, response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("case", [case for case in API_CASES if case.update], ids=str)
def test_an_over_long_value_in_any_api_update_is_never_a_500(case, world, api):
    from django.urls import reverse

    row = case.make(world, world.acme, 1, world.user(case.read_role))[0]
    url = reverse(f"{case.basename}-detail", args=[case.lookup(row)])
    api.as_user(world.user("owner"))
    body = case.update(world, row)
    for name, value in body.items():
        if isinstance(value, str):
            response = api.patch(url, {**body, name: "a" * TOO_LONG}, format="json")
            assert response.status_code < 500, (name, response.status_code)
            if response.status_code != 200:
                assert response.status_code == 400 and name in response.json().get("fields", {}), response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("case", [case for case in PAGE_CASES if case.method == "post" and case.data], ids=str)
def test_an_over_long_value_in_any_page_form_is_never_a_500(case, world, client):
    client.force_login(world.user("owner"))
    url = case.url(world, world.acme)
    for name, value in case.data.items():
        if isinstance(value, str):
            response = client.post(url, {**case.data, name: "a" * TOO_LONG})
            assert response.status_code < 500, (name, response.status_code)


@pytest.mark.django_db
def test_inviting_a_300_character_address_says_it_is_too_long(world, client, api):
    address = "a" * 288 + "@example.org"
    client.force_login(world.user("owner"))
    response = client.post("/t/acme/members/invite/", {"email": address, "role": "viewer"})
    assert response.status_code == 400 and "is-invalid" in response.content.decode()
    api.as_user(world.user("owner"))
    response = api.post("/api/v1/invitations/", {"tenant": "acme", "email": address, "role": "viewer"}, format="json")
    assert response.status_code == 400 and "email" in response.json()["fields"]
