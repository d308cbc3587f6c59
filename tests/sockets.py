"""The WebSocket test client the suite uses against the portal's ASGI application."""

from channels.testing import WebsocketCommunicator

HANDSHAKE_SECONDS = 20


class Socket(WebsocketCommunicator):
    """channels' communicator, waiting for the handshake as long as a busy machine needs. Its default of
    1 s fails a test that runs beside others while a key is checked in the database; a refused handshake
    still answers at once, so the wait costs nothing when all is well."""

    async def connect(self, timeout=HANDSHAKE_SECONDS):
        return await super().connect(timeout)
