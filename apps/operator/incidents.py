"""Operator page: incidents across every tenant, open ones by default, so the platform team sees
where workloads are unwell without visiting each tenant."""

from django.shortcuts import render

from apps.core.operators import operator_required
from apps.workloads.models import Incident
from apps.workloads.selectors import incidents_everywhere

LIST_LENGTH = 200


@operator_required
def incidents(request):
    state = request.GET.get("state", "open")
    state = state if state in Incident.State.values or state == "" else "open"
    context = {"incidents": incidents_everywhere(state)[:LIST_LENGTH], "state": state, "states": Incident.State.choices}
    return render(request, "operator/incidents.html", context)
