"""The WebSocket test client the suite uses against the portal's ASGI application."""

from channels.testing import WebsocketCommunicator

HANDSHAKE_SECONDS = 20


class Socket(WebsocketCommunicator):
    """channels' communicator, waiting for the handshake as long as a busy machine needs, and telling the
    application its socket is gone once the application closed it, as an ASGI server does.

    channels' default handshake wait of 1 s fails a test that runs beside others while a key is checked in the
    database; a refused handshake still answers at once, so the wait costs nothing when all is well. Without
    the disconnect, a consumer that closed its socket keeps reading the channel layer until the test's event
    loop cancels it at shutdown, so a test would not see a consumer that fails to stop."""

    async def connect(self, timeout=HANDSHAKE_SECONDS):
        return await super().connect(timeout)

    async def receive_output(self, timeout=1):
        message = await super().receive_output(timeout)
        if message["type"] == "websocket.close":
            await self.send_input({"type": "websocket.disconnect", "code": message.get("code", 1000)})
            await self.wait(HANDSHAKE_SECONDS)
        return message
