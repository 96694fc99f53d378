"""Getting an access token from the EHR's token endpoint (SMART Backend Services, client_credentials).

Client assertions follow the SMART App Launch "Backend Services" profile
(https://hl7.org/fhir/smart-app-launch/backend-services.html): iss = sub = client id, aud = the
token URL, exp no more than five minutes ahead, a jti never reused (at most 151 characters), and
the signing key's kid in the header so the EHR can find it in our JWKS. Oracle Health system
accounts use a client secret (HTTP Basic or form post). "none" (no token at all) is for a loopback
sandbox only.
"""

import base64
import dataclasses
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from ehr_integrations.auth import discovery, scopes
from ehr_integrations.errors import EHRAuthError, EHRUnavailable
from ehr_integrations.transport import http as transport
from ehr_integrations.transport import shared_cache
from ehr_integrations.transport.connection import ConnectionConfig, SigningMaterial

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 240  # spec maximum is 300; stay under it despite clock skew
MAX_JTI_LENGTH = 151
SCOPE_GRAMMAR_KEPT_S = 86400


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    expires_in: float
    scope: str  # granted; the requested scopes when the response says nothing (RFC 6749 section 5.1)
    kid: str | None  # the signing key the assertion used (None for secret-based auth)


def client_assertion(config: ConnectionConfig, *, now: float | None = None) -> str:
    """A signed JWT proving we hold the private key registered (by JWKS URL) for this client."""
    key = config.signing_key
    if key is None:
        raise EHRAuthError("no_signing_key", "the connection has no signing key")
    now = time.time() if now is None else now
    claims = {
        "iss": config.client_id,
        "sub": config.client_id,
        "aud": config.token_url,
        "exp": int(now) + ASSERTION_LIFETIME_S,
        "iat": int(now),
        "jti": f"{uuid.uuid4().hex}{secrets.token_hex(8)}"[:MAX_JTI_LENGTH],
    }
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, _private_key(key), algorithms=[key.algorithm])


def _private_key(key: SigningMaterial) -> ECKey | RSAKey:
    if key.algorithm == "RS384":
        return RSAKey.import_key(key.private_pem)
    return ECKey.import_key(key.private_pem)


def _basic_auth_header(client_id: str, secret: str) -> str:
    # RFC 6749 section 2.3.1: form-urlencode both parts before Base64.
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def token_request(config: ConnectionConfig) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Form fields, headers and the kid used for this connection's auth method."""
    form = {"grant_type": "client_credentials", "scope": " ".join(config.scopes)}
    headers = {"Accept": "application/json"}
    kid = None
    if config.auth_method == "private_key_jwt":
        form.update(client_assertion_type=ASSERTION_TYPE, client_assertion=client_assertion(config))
        kid = config.signing_key.kid if config.signing_key else None
    elif config.auth_method == "client_secret_basic":
        headers["Authorization"] = _basic_auth_header(config.client_id, config.client_secret)
    elif config.auth_method == "client_secret_post":
        form.update(client_id=config.client_id, client_secret=config.client_secret)
    else:
        raise EHRAuthError("unknown_auth_method", config.auth_method)
    return form, headers, kid


def requires_token(config: ConnectionConfig) -> bool:
    """False for auth "none" (an open FHIR server), which is refused unless the server is on loopback."""
    if config.auth_method != "none":
        return True
    if not transport.is_loopback(urlsplit(config.fhir_base_url).hostname):
        raise EHRAuthError("auth_none_not_allowed", "auth method 'none' is only allowed for loopback URLs")
    return False


async def fetch_token(config: ConnectionConfig, *, deadline: float) -> TokenGrant:
    """Ask the token endpoint for a new access token. Never retried: a 5xx or timeout is EHRUnavailable.

    A server that grants SMART v2 scopes only refuses v1 ones (`invalid_scope`): the same scopes are
    then asked once in v2 grammar (`.read` -> `.rs`), and the connection remembers to ask so.
    """
    config = await discovery.with_token_url(config, deadline=deadline)
    grammar_key = f"ehr:{config.health_system_id}:{config.credentials_fingerprint}:scope_grammar"
    v2 = tuple(scopes.as_v2(s) for s in config.scopes)
    if v2 != config.scopes and await _cached(grammar_key, deadline=deadline) == "v2":
        return await _request_token(dataclasses.replace(config, scopes=v2), deadline=deadline)
    try:
        return await _request_token(config, deadline=deadline)
    except EHRAuthError as refused:
        if refused.error != "invalid_scope" or v2 == config.scopes:
            raise
    grant = await _request_token(dataclasses.replace(config, scopes=v2), deadline=deadline)
    try:
        await shared_cache.set(grammar_key, "v2", SCOPE_GRAMMAR_KEPT_S, deadline=deadline)
    except shared_cache.CacheUnavailable:
        pass
    return grant


async def _cached(key: str, *, deadline: float) -> object:
    try:
        return await shared_cache.get(key, deadline=deadline)
    except shared_cache.CacheUnavailable:
        return None


async def _request_token(config: ConnectionConfig, *, deadline: float) -> TokenGrant:
    form, headers, kid = token_request(config)
    try:
        response = await transport.send(
            config,
            "POST",
            config.token_url,
            endpoint="token",
            deadline=deadline,
            retry=False,
            data=form,
            headers=headers,
        )
    except EHRUnavailable as exc:
        raise EHRUnavailable(f"token_{exc.reason}", exc.retry_after) from None
    body = _json(response)
    if response.status_code != 200:
        raise EHRAuthError(
            str(body.get("error") or f"http_{response.status_code}"), str(body.get("error_description", ""))
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise EHRAuthError("invalid_token_response", "the token endpoint answered without an access_token")
    return TokenGrant(
        access_token=token,
        expires_in=float(body.get("expires_in") or 300),
        scope=_granted(body.get("scope")) or form["scope"],
        kid=kid,
    )


def _granted(scope: object) -> str:
    """The response's `scope` as space-separated scopes: RFC 6749 says a string; some servers send a
    list. Anything else says nothing (the requested scopes then count as granted)."""
    if isinstance(scope, str):
        return " ".join(scope.replace(",", " ").split())
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return " ".join(scope)
    return ""


def _json(response: transport.EHRResponse) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
