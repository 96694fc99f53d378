"""The MCP endpoint (`/mcp`, streamable HTTP) on the official `mcp` SDK: the agent tools for MCP clients.

Tools are listed from calls/edges/manifests/mcp.py and run through calls/registry/run.py, so gating, audit
and answers are those of the REST API. Clients authenticate with their API key
(`Authorization: Api-Key <key>`, or `Bearer <key>` as MCP clients usually send it); each tool takes
the `call_id` it is about, and only the key's own calls are found. Stateless mode with JSON answers:
any gateway process can serve any request, as for the REST API.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping

import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import close_old_connections
from django.http import Http404
from django.http.request import split_domain_port, validate_host
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from calls import contract
from calls.contract import Envelope
from calls.edges import limits
from calls.edges.api_keys import client_for_key
from calls.edges.manifests import mcp as mcp_manifest
from calls.models import AgentClient
from calls.registry import definitions, run
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client

PATH = "/mcp"
# ASGI: a connection scope, and the receive and send callables.
Scope = MutableMapping[str, object]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
CLIENT_SCOPE_KEY = "gateway.agent_client_id"
INSTRUCTIONS = (
    "Tools of a healthcare voice agent gateway. Open the call with open_call and pass its call_id"
    " to every other tool. Verify the caller with verify_caller before anything else; speak each answer's `say`."
)


async def _list_tools(ctx: ServerRequestContext, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    listed = mcp_manifest.render(definitions.TOOLS, base_url="", health_system=None)["tools"]
    return types.ListToolsResult(tools=[types.Tool.model_validate(tool) for tool in listed])


def _client(client_id: int) -> AgentClient:
    """The authenticated agent client, read again on the worker thread (it may have been disabled)."""
    return AgentClient.objects.get(pk=client_id, enabled=True)


def _run(client_id: int, name: str, arguments: dict, context: AuditContext) -> Envelope:
    try:
        client = _client(client_id)
        call = call_for_client(client=client, call_id=str(arguments.pop("call_id", "")))
    except (AgentClient.DoesNotExist, Http404, ValueError, DjangoValidationError):
        return contract.not_found("call_id")
    else:
        return run.run_function(function=name, call=call, arguments=arguments, context=context)
    finally:
        close_old_connections()


def _open(client_id: int, arguments: dict) -> Envelope:
    try:
        client = _client(client_id)
    except AgentClient.DoesNotExist:
        return contract.error({"authorization": "unknown or revoked API key"}, 401)
    try:
        return run.open_call_envelope(client=client, arguments=arguments)
    finally:
        close_old_connections()


async def _call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
    scope = ctx.request.scope
    client_address = (scope.get("client") or (None,))[0]
    arguments = dict(params.arguments or {})
    if params.name == mcp_manifest.OPEN_CALL:
        http, body = await sync_to_async(_open, thread_sensitive=False)(scope[CLIENT_SCOPE_KEY], arguments)
    else:
        context = AuditContext.of(
            channel="mcp",
            correlation_id=ctx.request.headers.get("x-correlation-id", ""),
            source_address=client_address,
        )
        run_tool = sync_to_async(_run, thread_sensitive=False)
        http, body = await run_tool(scope[CLIENT_SCOPE_KEY], params.name, arguments, context)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(body))],
        structured_content=body,
        is_error=body["status"] == "error",
    )


server = Server(
    "voice-ehr-gateway", version="1.0.0", instructions=INSTRUCTIONS, on_list_tools=_list_tools, on_call_tool=_call_tool
)


async def _reply(send: Send, status: int, body: dict, headers: tuple = ()) -> None:
    payload = json.dumps(body).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})


def _key(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return key.strip() if scheme in ("Api-Key", "Bearer") else ""


def _host_allowed(scope: Scope) -> bool:
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _client_id(key: str) -> int | None:
    try:
        client = client_for_key(key) if key else None
        return client.pk if client else None
    finally:
        close_old_connections()


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, tuple[int, dict] | None]:
    """The whole body, read here up to the limit (the SDK would read any size), and checked as JSON:
    too large is 413, nested too deep 400; other JSON errors are the SDK's to answer (JSON-RPC)."""
    chunks, size = [], 0
    more = scope.get("method") == "POST"
    headers = dict(scope.get("headers") or [])
    if more and headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
        return b"", (415, {"status": "error", "errors": {"content-type": "must be application/json"}})
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.MAX_BODY_BYTES:
            return b"", (413, {"status": "error", "errors": limits.TOO_LARGE})
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    try:
        limits.loads(body) if body else None
    except limits.JSONTooDeep:
        return b"", (400, {"status": "error", "errors": limits.TOO_DEEP})
    except (ValueError, UnicodeDecodeError):
        pass
    return body, None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the SDK the body already read, then whatever the server sends next."""
    sent = False

    async def replayed() -> MutableMapping:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class McpMount:
    """An ASGI app serving `/mcp` with the MCP SDK and everything else with the wrapped app (Django)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._manager: StreamableHTTPSessionManager | None = None
        self._ready: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != PATH:
            await self.app(scope, receive, send)
            return
        if not _host_allowed(scope):
            await _reply(send, 400, {"status": "error", "errors": {"host": "not allowed"}})
            return
        client_id = await sync_to_async(_client_id, thread_sensitive=False)(_key(scope))
        if client_id is None:
            body = {"status": "error", "errors": {"authorization": "Authorization must be 'Api-Key <key>'"}}
            await _reply(send, 401, body, ((b"www-authenticate", b"Api-Key"),))
            return
        body, refusal = await _read_body(scope, receive)
        if refusal is not None:
            await _reply(send, *refusal)
            return
        await self._started()
        await self._manager.handle_request(scope | {CLIENT_SCOPE_KEY: client_id}, _replay(body, receive), send)

    async def _started(self) -> None:
        """The SDK's session manager runs for the life of the server loop; started on first use
        (daphne sends no ASGI lifespan events)."""
        if self._ready is None:
            self._ready = asyncio.Event()
            self._manager = StreamableHTTPSessionManager(
                app=server,
                stateless=True,
                json_response=True,
                # Host checks are Django's ALLOWED_HOSTS (above), the same as for the REST API.
                security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            )
            asyncio.get_running_loop().create_task(self._run(self._manager, self._ready))
        await self._ready.wait()

    @staticmethod
    async def _run(manager: StreamableHTTPSessionManager, ready: asyncio.Event) -> None:
        async with manager.run():
            ready.set()
            await asyncio.Event().wait()
