"""The SMART Backend Services authorization server: discovery and the client_credentials token endpoint."""

import base64
import binascii
import secrets
from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web

from ehr_integrations.sandbox import assertion, scopes
from ehr_integrations.sandbox.clients import RegisteredClient
from ehr_integrations.sandbox.oauth_errors import OAuthError
from ehr_integrations.sandbox.state import STATE, SandboxState

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def smart_configuration(request: web.Request) -> web.Response:
    state = request.app[STATE]
    v2_only = state.strict.scopes == "v2"
    return web.json_response(
        {
            "issuer": state.base_url,
            "token_endpoint": state.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"],
            "token_endpoint_auth_signing_alg_values_supported": list(assertion.ALGORITHMS),
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": ["system/*.rs"] if v2_only else ["system/*.read", "system/*.rs"],
            "capabilities": [
                "client-confidential-asymmetric",
                "client-confidential-symmetric",
                *([] if v2_only else ["permission-v1"]),
                "permission-v2",
            ],
        }
    )


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    try:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError("unsupported_grant_type", "only grant_type=client_credentials is supported")
        client = await _authenticate(request, form, state)
        request["client_id"] = client.client_id
        requested = str(form.get("scope", "")).split()
        if not requested:
            raise OAuthError("invalid_scope", "scope is required")
        if state.strict.scopes == "v2":
            _refuse_v1(requested)
        refused = scopes.refused(list(client.scopes), requested)
        if refused and client.grant == "narrow":
            requested = [scope for scope in requested if scope not in refused]
        if refused and (client.grant != "narrow" or not requested):
            raise OAuthError("invalid_scope", f"scopes not granted to this client: {' '.join(refused)}")
    except OAuthError as error:
        return error.response()
    access_token, lifetime = state.tokens.issue(client.client_id, requested)
    body = {"access_token": access_token, "token_type": "bearer", "expires_in": lifetime, "scope": " ".join(requested)}
    return web.json_response(body, headers=NO_STORE)


def _refuse_v1(requested: list[str]) -> None:
    v1 = [scope for scope in requested if scopes.is_v1(scope)]
    if v1:
        raise OAuthError(
            "invalid_scope",
            f"this server grants SMART v2 scopes only (for example system/Patient.rs); v1 scopes: {' '.join(v1)}",
        )


async def _authenticate(
    request: web.Request, form: Mapping[str, str | bytes | web.FileField], state: SandboxState
) -> RegisteredClient:
    header = request.headers.get("Authorization", "")
    methods = [
        header.lower().startswith("basic "),
        bool(form.get("client_assertion")),
        bool(form.get("client_secret")),
    ]
    if sum(methods) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if methods[0]:
        client_id, secret = _basic_credentials(header)
        return _secret_client(state, client_id, secret, "client_secret_basic")
    if methods[1]:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}")
        client = await assertion.authenticate(
            str(form["client_assertion"]),
            token_url=state.token_url,
            clients=state.clients,
            jwks_cache=state.jwks_cache,
            tokens=state.tokens,
        )
        if form.get("client_id") and form["client_id"] != client.client_id:
            raise OAuthError("invalid_client", "client_id does not match the assertion")
        return client
    if methods[2]:
        return _secret_client(state, str(form.get("client_id", "")), str(form["client_secret"]), "client_secret_post")
    raise OAuthError("invalid_client", "no client authentication")


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, IndexError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials") from exc
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before being joined.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _secret_client(state: SandboxState, client_id: str, secret: str, method: str) -> RegisteredClient:
    client = state.clients.get(client_id)
    if client is None or client.auth != method or not client.secret:
        raise OAuthError("invalid_client", f"unknown client or client not registered for {method}")
    if not secrets.compare_digest(client.secret.encode(), secret.encode()):
        raise OAuthError("invalid_client", "wrong client secret")
    return client
