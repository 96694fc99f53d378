"""Call events for the agent's WebSocket, published by the services and delivered by calls/edges/consumers.py.

Nothing PHI-bearing crosses the channel layer (Redis in production, where it is not encrypted):
a finished background fetch is announced as `fetch.ready` with the tool and its query only, and
the consumer reads the answer from the encrypted session store, audits it and sends it.
"""

import asyncio
import logging
from concurrent.futures import Future

from channels.layers import InMemoryChannelLayer, get_channel_layer

from ehr_integrations.transport import io_loop

log = logging.getLogger(__name__)
MESSAGE_TYPE = "call.event"  # handled by CallEventsConsumer.call_event
_consumer_loop: asyncio.AbstractEventLoop | None = None


def group(call_id: str) -> str:
    return f"call.{call_id}"


def remember_consumer_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The in-memory layer's queues belong to the server loop its consumers run on (embedded default)."""
    global _consumer_loop
    _consumer_loop = loop


def publish(call_id: str, event: dict) -> None:
    """Send one event to every socket listening on the call; never raises for a missing listener."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": MESSAGE_TYPE, "event": event}
    home = _consumer_loop
    if isinstance(layer, InMemoryChannelLayer) and home is not None and not home.is_closed():
        # asyncio queues are not thread-safe: hand the send to the loop that owns them.
        asyncio.run_coroutine_threadsafe(layer.group_send(group(call_id), message), home)
        return
    # Sent from the process's I/O loop without waiting: no event loop is made per event, and the
    # REST answer does not wait for Redis.
    sent = io_loop.spawn(layer.group_send(group(call_id), message))
    sent.add_done_callback(lambda future: _report(future, event.get("event"), call_id))


def _report(sent: Future, name: str, call_id: str) -> None:
    if sent.cancelled() or sent.exception() is None:
        return
    # The socket is a convenience: the REST answer and the session store stay authoritative.
    log.warning("could not publish %s for call %s: %s", name, call_id, type(sent.exception()).__name__)
