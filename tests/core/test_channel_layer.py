"""A consumer's wait on the channel layer ends when it is cancelled, whatever step its read had reached.

A consumer reads its channel until its browser leaves, then cancels the read. When that cancellation was lost
the read went on for ever, one Redis connection and one task more each time, and a test's event loop waited
on it at shutdown without end.
"""

import asyncio

from channels.layers import get_channel_layer

# A read's first steps on a new event loop: connecting to Redis, greeting it, the first commands. Cancelling
# at each of them, one loop turn apart, covers all of that with room to spare.
STEPS = 40


async def ends_when_cancelled(steps: int) -> bool:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    reader = asyncio.ensure_future(layer.receive(channel))
    for _ in range(steps):
        await asyncio.sleep(0)
    reader.cancel()
    done, _ = await asyncio.wait([reader], timeout=3)
    if not done:  # end the read that ignored its cancellation, so this loop can close
        await layer.send(channel, {"type": "end"})
        await asyncio.wait([reader], timeout=10)
    return bool(done)


def test_a_read_of_the_layer_ends_when_cancelled_at_any_step():
    # A new event loop each time, so the read connects to Redis afresh, as a new consumer's does.
    ignored = [steps for steps in range(STEPS) if not asyncio.run(ends_when_cancelled(steps))]
    assert ignored == []


def test_the_layer_sets_no_socket_timeout_of_its_own():
    # Redis ends each blocking read itself (brpop_timeout); a socket timeout shorter than that closed quiet
    # sockets, and any socket timeout at all sends commands through asyncio.wait_for (see the settings).
    layer = get_channel_layer()
    assert all(host["socket_timeout"] is None and host["socket_keepalive"] for host in layer.hosts)
