"""Where each application runs, for the applications list: its workloads with a live release, in
promotion order (dev, staging, prod), read with one query for the whole list."""

from collections import defaultdict

from django import template

from apps.tenants.models import promotion_key

from ..selectors import workload_list_for

register = template.Library()


@register.simple_tag(takes_context=True)
def places_by_application(context) -> dict[int, list]:
    request = context["request"]
    places = defaultdict(list)
    for workload in workload_list_for(request, request.tenant).exclude(release=None):
        places[workload.application_id].append(workload)
    for rows in places.values():
        rows.sort(key=lambda workload: promotion_key(workload.environment))
    return dict(places)


@register.filter
def places_of(places: dict, application) -> list:
    return places.get(application.pk, [])
