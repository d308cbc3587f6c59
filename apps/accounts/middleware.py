"""The sign-in pages' Content-Security-Policy names the console's identity provider.

Signing in through the IdP posts a form to the portal, which redirects the browser to the IdP, and
browsers hold that redirect to the page's `form-action`. An IdP configured by environment is in the
static policy (settings); one configured in the console is added here, on the account pages only.
"""

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
