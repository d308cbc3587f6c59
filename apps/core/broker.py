"""The Celery broker transport: kombu's Redis transport, made to survive the broker going away.

When Redis drops, the worker closes its channel and kombu restores the unacknowledged messages,
which needs a connection the close has already released: kombu then raises AttributeError ("'NoneType'
object has no attribute 'hostname'"), which celery treats as unrecoverable and the worker exits.
Raised as a connection error instead, the worker does what it does for every broker outage: it
reconnects, and the messages come back to the queue once the broker's visibility timeout passes (the
deployment reconciler nudges its rows sooner).
"""

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("The connection to the broker is closed.")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
