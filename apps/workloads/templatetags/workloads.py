"""{% running_now application %}: where an application runs now, per environment, as last read from
the cluster, for the application page."""

from django import template
from django.utils.dateparse import parse_datetime

from apps.tenants.models import promotion_key

from ..selectors import workload_list_for

register = template.Library()


@register.inclusion_tag("workloads/_running_now.html", takes_context=True)
def running_now(context, application):
    request = context["request"]
    rows = workload_list_for(request, application.tenant).filter(application=application)
    return {"workloads": sorted(rows, key=lambda w: promotion_key(w.environment)), "tenant": application.tenant}


@register.filter
def cluster_time(value):
    """A time the cluster wrote as ISO text (a pod's creationTimestamp), as a datetime for |date."""
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None
