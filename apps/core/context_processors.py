"""Template context shared by every page."""

from django.conf import settings


def portal(request):
    return {"site_name": settings.SITE_NAME}
