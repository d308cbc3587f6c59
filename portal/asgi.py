"""ASGI entry point: HTTP and WebSocket in one application.

WebSocket connections must come from the portal's own origin (or a trusted one) and carry the session (browsers) or an API key
in `Authorization: Bearer` (programs such as portalctl). Programs send no Origin header, which
channels' origin validator refuses; KeyAwareOriginValidator lets such a handshake through only with
a bearer key, which then alone decides who it is. Each consumer then authorizes its own subscription.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.apikeys.websocket import APIKeyAuthMiddleware, KeyAwareOriginValidator  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": KeyAwareOriginValidator(
            AuthMiddlewareStack(APIKeyAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
