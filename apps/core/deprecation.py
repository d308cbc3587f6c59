"""Telling API clients that something is going away, in the response and in the schema.

`@deprecated(since=..., sunset=...)` on a DRF view method makes every response carry
`Deprecation: @<unix time>` (RFC 9745), `Sunset: <HTTP date>` (RFC 8594) and
`Link: </api/changelog/>; rel="deprecation"`, and marks the operation deprecated in /api/schema/.
docs/api-changelog.md is the record of what changed and when; it is served at /api/changelog/.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema

CHANGELOG = Path(settings.BASE_DIR) / "docs" / "api-changelog.md"
CHANGELOG_URL = "/api/changelog/"


def _midnight(day: date) -> int:
    return calendar.timegm(datetime.combine(day, time(), tzinfo=UTC).utctimetuple())


def deprecation_headers(*, since: date, sunset: date | None = None) -> dict[str, str]:
    headers = {"Deprecation": f"@{_midnight(since)}", "Link": f'<{CHANGELOG_URL}>; rel="deprecation"'}
    if sunset is not None:
        headers["Sunset"] = http_date(_midnight(sunset))
    return headers


def deprecated(*, since: date, sunset: date | None = None, replacement: str = ""):
    """Mark a view method deprecated since `since`, to be removed at `sunset`; `replacement` says what to use."""
    note = f"Deprecated since {since:%Y-%m-%d}" + (f", removed on {sunset:%Y-%m-%d}" if sunset else "")
    note += f". Use {replacement} instead." if replacement else "."

    def decorator(view_method):
        headers = deprecation_headers(since=since, sunset=sunset)

        @wraps(view_method)
        def wrapper(self, request, *args, **kwargs):
            response = view_method(self, request, *args, **kwargs)
            for name, value in headers.items():
                response[name] = value
            return response

        return extend_schema(deprecated=True, description=f"**{note}** {view_method.__doc__ or ''}".strip())(wrapper)

    return decorator


@require_safe
def api_changelog(request):
    """The API's version history as the plain text of docs/api-changelog.md (Markdown reads fine as is)."""
    return HttpResponse(CHANGELOG.read_text(encoding="utf-8"), content_type="text/plain; charset=utf-8")
