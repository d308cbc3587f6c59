"""Operator console pages. Only staff reach them; everyone else gets the same 404 as a missing page."""

from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django_celery_beat.models import PeriodicTask

from apps.core.health import run_checks


def operator_required(view):
    """A signed-in operator (is_staff) passes; any other signed-in user sees a 404."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@operator_required
def overview(request):
    ready, checks = run_checks()
    users = get_user_model().objects
    return render(
        request,
        "console/overview.html",
        {
            "ready": ready,
            "checks": checks,
            "user_count": users.count(),
            "staff_count": users.filter(is_staff=True).count(),
            "periodic_tasks": PeriodicTask.objects.order_by("name"),
        },
    )
