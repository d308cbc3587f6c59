"""The sessions page's "last seen": written at most once a minute per session, at once when the
browser or address changes, and the page still lists the session."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)


def activity_writes(client, path="/") -> int:
    """The UPDATEs of the session's row a request makes."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum(1 for q in queries if q["sql"].startswith('UPDATE "usersessions_usersession"'))


def test_activity_is_written_once_a_minute_and_the_sessions_page_shows_it(client, developer, password):
    client.defaults["HTTP_USER_AGENT"] = "PortalTest/1.0"
    with time_machine.travel(START, tick=False) as clock:
        client.post("/accounts/login/", {"login": developer.email, "password": password})
        assert activity_writes(client) == 1  # the first request after signing in marks the session
        clock.shift(timedelta(seconds=30))
        assert activity_writes(client) == 0  # within the minute: no write
        row = UserSession.objects.get(user=developer)
        assert row.last_seen_at == START

        clock.shift(timedelta(seconds=31))
        assert activity_writes(client) == 1  # a minute on: written again
        row.refresh_from_db()
        assert row.last_seen_at == START + timedelta(seconds=61)

        clock.shift(timedelta(seconds=5))
        assert activity_writes(client) == 0
        page = client.get("/accounts/sessions/").content.decode()
        assert "PortalTest/1.0" in page
        assert "Current" in page


def test_a_changed_browser_is_written_at_once(client, developer, password):
    client.defaults["HTTP_USER_AGENT"] = "PortalTest/1.0"
    with time_machine.travel(START, tick=False) as clock:
        client.post("/accounts/login/", {"login": developer.email, "password": password})
        activity_writes(client)
        clock.shift(timedelta(seconds=10))
        client.defaults["HTTP_USER_AGENT"] = "PortalTest/2.0"
        assert activity_writes(client) == 1
        assert UserSession.objects.get(user=developer).user_agent == "PortalTest/2.0"
        assert activity_writes(client) == 0
