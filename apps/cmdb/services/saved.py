"""Saved CMDB searches, shared with the tenant's members."""

from __future__ import annotations

from django.db import transaction

from apps.core.audit import audit_record
from apps.core.errors import INVALID, NAME_TAKEN, ApplicationError, require
from apps.core.policies import policy_for
from apps.tenants.models import Tenant
from apps.tenants.principals import Principal

from ..filtersets import SEARCH_FIELDS
from ..models import SavedFilter
from .items import storable


def query_check(query) -> dict:
    """Only the search's own parameters, as text."""
    if not isinstance(query, dict):
        raise ApplicationError("Give the query as an object of search parameters.", code=INVALID, field="query")
    unknown = sorted(set(query) - set(SEARCH_FIELDS))
    if unknown:
        raise ApplicationError(
            f"Not search parameters: {', '.join(unknown)}. Use {', '.join(SEARCH_FIELDS)}.", code=INVALID, field="query"
        )
    return storable({key: str(value) for key, value in query.items() if str(value).strip()}, "query")


@transaction.atomic
def saved_filter_create(*, actor: Principal, tenant: Tenant, name: str, query: dict) -> SavedFilter:
    """Save a search under a name, for every member of the tenant."""
    require(policy_for(SavedFilter).can_add(actor, tenant), tenant=tenant)
    name = storable((name or "").strip(), "name")
    if not name or len(name) > 100:
        raise ApplicationError("Give the search a name of 1 to 100 characters.", code=INVALID, field="name")
    if SavedFilter.objects.filter(tenant=tenant, name=name).exists():
        raise ApplicationError(f"There is already a saved search called “{name}”.", code=NAME_TAKEN, field="name")
    saved = SavedFilter.objects.create(tenant=tenant, name=name, query=query_check(query), created_by=actor.user)
    audit_record(actor=actor, action="cmdb.filter.create", obj=saved, changes={"name": [None, name]})
    return saved


@transaction.atomic
def saved_filter_delete(*, actor: Principal, saved: SavedFilter) -> None:
    require(policy_for(SavedFilter).can_delete(actor, saved), tenant=saved.tenant)
    audit_record(actor=actor, action="cmdb.filter.delete", obj=saved, changes={"name": [saved.name, None]})
    saved.delete()
