"""The call's WebSocket (`/ws/calls/{id}/?ticket=...`): events for the agent client that owns the call.

A socket is accepted only for the owner: a single-use ticket from `POST …/ws-ticket` (`?ticket=`),
or the key in `Authorization: Api-Key`; `?key=` still works but is deprecated (query strings are
cut from every log line, compliance/phi_logging.py). Anything else is refused before any event is
sent, with an HTTP 403 whose body is the error envelope (where the server can send one).
PHI reaches the socket only as `fetch.result`, read from the encrypted session store and audited
here, at the moment it leaves, through the same tools.answer the REST endpoints use (if the audit
record cannot be written, `unavailable` is sent).
"""

import asyncio
import json
from urllib.parse import parse_qs
from uuid import UUID

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.http import Http404

from calls.contract import envelope, refusal_envelope
from calls.edges.api_keys import client_for_key
from calls.models import AgentClient, CallState
from calls.outcomes import CallRefusal
from calls.session import events, socket_tickets
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client
from calls.tools import answers as tools

Scope = dict[str, object]  # an ASGI connection scope
REFUSED = 4404  # close code for a socket that may not see this call (sent as an HTTP 403 before accept)


def _query(scope: Scope) -> dict[str, list[str]]:
    try:
        return parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=20)
    except ValueError:
        return {}


def _header_key(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return key.strip() if scheme == "Api-Key" else ""


def _client(scope: Scope, call_id: str) -> AgentClient | None:
    """Who presents this socket: a ticket first, then the Authorization header, then the deprecated `?key=`."""
    query = _query(scope)
    if query.get("ticket"):
        return socket_tickets.redeem(ticket=query["ticket"][0], call_id=call_id)
    key = _header_key(scope) or (query.get("key") or [""])[0]
    return client_for_key(key) if key else None


def _call_id(scope: Scope) -> str | None:
    try:
        return str(UUID(str(scope["url_route"]["kwargs"]["call_id"])))
    except ValueError:
        return None


def _owner(scope: Scope, call_id: str) -> tuple[AgentClient | None, str | None]:
    """The presenting client and the call's state, or (None, None) when it does not own the call."""
    client = _client(scope, call_id)
    if client is None:
        return None, None
    try:
        return client, call_for_client(client=client, call_id=call_id).state
    except Http404:
        return None, None


async def deny(consumer: AsyncWebsocketConsumer, status: int, errors: dict[str, str]) -> None:
    """Refuse the handshake with the error envelope as the HTTP answer (ASGI websocket.http.response),
    or with a plain close where the server cannot send one."""
    if "websocket.http.response" not in consumer.scope.get("extensions", {}):
        await consumer.close(code=REFUSED)
        return
    body = json.dumps({"status": "error", "errors": errors}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await consumer.base_send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await consumer.base_send({"type": "websocket.http.response.body", "body": body})
    raise StopConsumer


def _delivery(client: AgentClient, call_id: str, event: dict, context: AuditContext) -> dict | None:
    """The `fetch.result` for a finished fetch: read from the store and audited, or the refusal."""
    try:
        call = call_for_client(client=client, call_id=call_id)
    except Http404:
        return None
    described = {"tool": event["tool"], "query": event["query"]}
    try:
        _, body = envelope(tools.answer(call=call, tool=event["tool"], values=event["query"], context=context))
    except CallRefusal as refused:
        _, body = refusal_envelope(refused)
        name = body["status"] if body["status"] in ("unavailable", "ended") else "fetch.result"
        return {"event": name} | described | body
    return {"event": "fetch.result"} | described | body


class CallEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        events.remember_consumer_loop(asyncio.get_running_loop())
        self.client, call_id = None, _call_id(self.scope)
        if call_id is None:
            await deny(self, 403, {"call_id": "not found"})
            return
        self.call_id = call_id
        self.client, state = await database_sync_to_async(_owner)(self.scope, self.call_id)
        if self.client is None:
            await deny(self, 403, {"call_id": "not found"})
            return
        await self.channel_layer.group_add(events.group(self.call_id), self.channel_name)
        await self.accept()
        if state == CallState.ENDED:
            await self.send_json({"event": "ended", "call_id": self.call_id})
            await self.close()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "client", None) is not None:
            await self.channel_layer.group_discard(events.group(self.call_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: object) -> None:
        """The socket only listens; anything the agent sends (JSON or not) is ignored, never parsed."""

    async def call_event(self, message: dict) -> None:
        event = message["event"]
        if event["event"] == "fetch.ready":
            context = self._context(event.get("correlation_id", ""))
            event = await database_sync_to_async(_delivery)(self.client, self.call_id, event, context)
            if event is None:
                return
        await self.send_json(event)
        if event["event"] == "ended":
            await self.close()

    def _context(self, correlation_id: str) -> AuditContext:
        client = self.scope.get("client") or (None, None)
        return AuditContext.of(channel="websocket", correlation_id=correlation_id, source_address=client[0])


class UnknownSocketConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: a 404 envelope, not an error in the router."""

    async def connect(self) -> None:
        await deny(self, 404, {"path": "not found"})
