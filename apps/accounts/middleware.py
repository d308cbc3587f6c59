"""The sign-in pages' Content-Security-Policy names the console's identity provider.

Signing in through the IdP posts a form to the portal, which redirects the browser to the IdP, and
browsers hold that redirect to the page's `form-action`. An IdP configured by environment is in the
static policy (settings); one configured in the console is added here, on the account pages only.
"""

import time

from asgiref.sync import iscoroutinefunction, sync_to_async

from apps.core.middleware import Middleware

from .idp import CONSOLE, configuration

ACCOUNT_PAGES = "/accounts/"


def _allow_idp(request, response):
    config = configuration()
    if config.source == CONSOLE and config.origin:
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = [*update.get("form-action", []), config.origin]
        response._csp_update = update
    return response


class IdPFormActionMiddleware(Middleware):
    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        response = self.get_response(request)
        return _allow_idp(request, response) if request.path.startswith(ACCOUNT_PAGES) else response

    async def __acall__(self, request):
        response = await self.get_response(request)
        if request.path.startswith(ACCOUNT_PAGES):
            return await sync_to_async(_allow_idp)(request, response)
        return response


# --- Session activity: allauth's "last seen", written at most once a minute per session -----------

ACTIVITY_EVERY = 60  # seconds: the precision of "last seen" on the sessions page
ACTIVITY_MARK = "_portal_activity"  # in the session: (session key, when written, client's address, agent)


def _client(request) -> tuple[str, str]:
    """The address and user agent allauth stores on the session's row, as it reads them."""
    from allauth.account.adapter import get_adapter
    from allauth.usersessions.models import UserSession

    agent = request.META.get("HTTP_USER_AGENT", "")[: UserSession._meta.get_field("user_agent").max_length]
    return get_adapter().get_client_ip(request), agent


def track_activity(request) -> None:
    """allauth's activity tracking (USERSESSIONS_TRACK_ACTIVITY) without its read and UPDATE in a
    transaction on every request: the row is written when the session has not been seen for a minute,
    or at once when its address or browser changed (allauth then tells `session_client_changed`).
    When it was last written is kept in the session, which the request has read already, so a request
    within the minute costs no query; the session itself is saved once a minute for it."""
    from allauth.usersessions import app_settings
    from allauth.usersessions.internal import usersessionkit

    user, session = getattr(request, "user", None), getattr(request, "session", None)
    if not app_settings.TRACK_ACTIVITY or session is None or user is None or not user.is_authenticated:
        return
    if not session.session_key:
        return
    ip, agent = _client(request)
    now = time.time()
    mark = session.get(ACTIVITY_MARK)
    if mark and mark[0] == session.session_key and now - mark[1] < ACTIVITY_EVERY and mark[2:] == [ip, agent]:
        return
    usersessionkit.track_activity(request, user=user, session=session)
    session[ACTIVITY_MARK] = [session.session_key, now, ip, agent]


class UserSessionActivityMiddleware:
    """Replaces allauth.usersessions.middleware.UserSessionsMiddleware (same place in the stack)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        track_activity(request)
        return self.get_response(request)
