"""List filters: another tenant's id reads exactly like a missing one, and malformed values are refused
(issue 12, items 10 and 14)."""

import pytest
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter

from apps.core.api import FilterBackend
from apps.tenants.roles import Role
from portal.api_router import router

pytestmark = pytest.mark.django_db

LISTS_FILTERING_BY_ENVIRONMENT = [
    "/api/v1/deployments/",
    "/api/v1/approval-policies/",
    "/api/v1/freeze-windows/",
    "/api/v1/change-requests/",
]


@pytest.fixture
def owner_api(api, world):
    return api.with_key(world.key(Role.OWNER))


@pytest.mark.parametrize("url", LISTS_FILTERING_BY_ENVIRONMENT)
def test_a_foreign_environment_id_and_an_unknown_one_get_the_same_answer(owner_api, world, url):
    foreign = world.globex.environments.get(name="prod").pk
    unknown = max(e.pk for e in world.globex.environments.all()) + 1000
    answers = [owner_api.get(url, {"environment": environment_id}) for environment_id in (foreign, unknown, 0)]
    assert [(r.status_code, r.json()) for r in answers] == [(200, {"next": None, "previous": None, "results": []})] * 3


@pytest.mark.parametrize("url", LISTS_FILTERING_BY_ENVIRONMENT)
@pytest.mark.parametrize("value", ["abc", "0.5", ""])
def test_an_environment_id_that_is_not_a_whole_number_is_refused(owner_api, url, value):
    response = owner_api.get(url, {"environment": value})
    assert response.status_code == 400 and "environment" in response.json()["fields"], response.content


def test_no_api_filter_checks_an_id_against_a_queryset():
    """Every list filter of the router, generated or declared: none is a model choice, since one
    validates an id against rows the caller may not see."""
    backend = FilterBackend()
    checked = 0
    for _, viewset, _ in router.registry:
        model = getattr(viewset, "model", None) or getattr(getattr(viewset, "queryset", None), "model", None)
        if model is None:
            continue
        view = viewset()
        filterset_class = backend.get_filterset_class(view, model.objects.none())
        if filterset_class is None:
            continue
        checked += 1
        model_choices = [
            name
            for name, spec in filterset_class.base_filters.items()
            if isinstance(spec, ModelChoiceFilter | ModelMultipleChoiceFilter)
        ]
        assert not model_choices, f"{viewset.__name__} filters {model_choices} by model choice"
    assert checked >= 10


@pytest.mark.parametrize(
    "query, field",
    [
        ({"page_size": "null"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "-3"}, "page_size"),
        ({"page_size": ""}, "page_size"),
    ],
)
def test_a_malformed_page_size_is_refused(owner_api, query, field):
    response = owner_api.get("/api/v1/environments/", query)
    assert response.status_code == 400 and field in response.json()["fields"], response.content


def test_a_large_page_size_is_capped_not_refused(owner_api):
    response = owner_api.get("/api/v1/environments/", {"page_size": "100000"})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


@pytest.mark.parametrize(
    "url, query, field",
    [
        ("/api/v1/api-usage/", {"until": ""}, "until"),
        ("/api/v1/cmdb/items/", {"platform": "null"}, "platform"),
        ("/api/v1/cmdb/items/", {"platform": "maybe"}, "platform"),
        ("/api/v1/webhooks/", {"is_active": "null"}, "is_active"),
        ("/api/v1/deployments/", {"state": ""}, "state"),
    ],
)
def test_a_typed_filter_with_a_value_its_type_cannot_hold_is_refused(owner_api, url, query, field):
    response = owner_api.get(url, query)
    assert response.status_code == 400 and field in response.json()["fields"], response.content


def test_well_formed_filters_still_filter(owner_api):
    assert owner_api.get("/api/v1/cmdb/items/", {"platform": "false"}).status_code == 200
    assert owner_api.get("/api/v1/environments/", {"kind": "production"}).json()["results"][0]["name"] == "prod"
    assert owner_api.get("/api/v1/environments/", {"name": ""}).status_code == 200  # text may be empty
