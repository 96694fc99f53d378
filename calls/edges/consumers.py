"""The call's WebSocket (`/ws/calls/{id}/?key=...`): events for the agent client that owns the call.

A socket is accepted only for the owner's API key (query `key` or `Authorization: Api-Key`);
anything else is refused before any event is sent. PHI reaches the socket only as `fetch.result`,
read from the encrypted session store and audited here, at the moment it leaves, through the same
tools.answer the REST endpoints use (if the audit record cannot be written, `unavailable` is sent).
"""

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from calls.contract import envelope, refusal_envelope
from calls.edges.api_keys import client_for_key
from calls.models import AgentClient, CallState
from calls.outcomes import CallRefusal
from calls.session import events
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client
from calls.tools import answers as tools

Scope = dict[str, object]  # an ASGI connection scope
REFUSED = 4404  # close code for a socket that may not see this call (sent as an HTTP 403 before accept)


def _key(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode())
    if query.get("key"):
        return query["key"][0]
    headers = dict(scope.get("headers", []))
    scheme, _, key = headers.get(b"authorization", b"").decode().partition(" ")
    return key.strip() if scheme == "Api-Key" else ""


def _owner(scope: Scope, call_id: str) -> tuple[AgentClient | None, str | None]:
    """The key's client and the call's state, or (None, None) when the key does not own the call."""
    client = client_for_key(_key(scope))
    if client is None:
        return None, None
    try:
        return client, call_for_client(client=client, call_id=call_id).state
    except Http404:
        return None, None


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
        self.call_id = str(self.scope["url_route"]["kwargs"]["call_id"])
        self.client, state = await database_sync_to_async(_owner)(self.scope, self.call_id)
        if self.client is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(events.group(self.call_id), self.channel_name)
        await self.accept()
        if state == CallState.ENDED:
            await self.send_json({"event": "ended", "call_id": self.call_id})
            await self.close()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "client", None) is not None:
            await self.channel_layer.group_discard(events.group(self.call_id), self.channel_name)

    async def receive_json(self, content: object, **kwargs: object) -> None:
        """The socket only listens; anything the agent sends is ignored."""

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
