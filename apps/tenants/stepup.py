"""Step-up: a person doing something sensitive by session must have re-authenticated recently (with
MFA when enrolled), through the API as in the browser.

Deciding on a change request needs it, and so does making a key that could decide (one with
`approvals:write`): otherwise a stolen or forgotten session could mint such a key and approve with
it. The browser's pages use allauth's `reauthentication_required`; a session calling the API must
pass the same check. API keys are not sessions: their scopes and the approval policy decide for them.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from allauth.account.decorators import reauthentication_required
from allauth.core.exceptions import ReauthenticationRequired
from django.urls import reverse

from apps.core.errors import ApplicationError

from .principals import Principal

# Refusal, as a constant that tests import.
REAUTHENTICATION_REQUIRED = "reauthentication_required"


def _recently_reauthenticated(request) -> bool:
    """allauth's own test, the one the decision pages run, applied to this request."""
    try:
        reauthentication_required(lambda _request: None)(request)
    except ReauthenticationRequired:
        return False
    return True


def reauthentication_url(user) -> str:
    methods = get_adapter().get_reauthentication_methods(user)
    return methods[0]["url"] if methods else reverse("account_reauthenticate")


def require_step_up(actor: Principal, *, doing: str = "Deciding on a change request") -> None:
    """Refuse `doing` over HTTP by session without a recent re-authentication. Keys are not sessions,
    and in-process callers (tasks, the shell, tests of the rules) have no session to ask."""
    request = actor.http_request
    if request is None or actor.api_key is not None:
        return
    if _recently_reauthenticated(request):
        return
    url = reauthentication_url(request.user)
    raise ApplicationError(
        f"{doing} needs a recent re-authentication (with MFA when you have "
        f"it). Confirm it is you at {url} in this session, then try again.",
        code=REAUTHENTICATION_REQUIRED,
        status=403,
    )
