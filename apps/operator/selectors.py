"""The operator console's own reads across apps that no single app owns."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django_celery_beat.models import PeriodicTask


def user_counts() -> dict[str, int]:
    """How many people have an account, and how many of them are operators."""
    users = get_user_model().objects
    return {"user_count": users.count(), "staff_count": users.filter(is_staff=True).count()}


def periodic_task_list() -> QuerySet[PeriodicTask]:
    """The scheduled tasks Celery beat runs, by name, with the schedules the page puts in words."""
    return PeriodicTask.objects.select_related("interval", "crontab").order_by("name")
