"""Checks a private_key_jwt client assertion the way SMART Backend Services requires.

The assertion must carry `kid`, be signed RS384 or ES384 by a registered key, have iss = sub = the
client id, aud = the token URL, an `exp` no more than five minutes ahead and a `jti` never seen before.
Every failure is `invalid_client` (SMART: errors during authentication).
"""

import json
import time

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

from ehr_integrations.sandbox.clients import ClientRegistry, RegisteredClient
from ehr_integrations.sandbox.jwks_cache import JWKSCache, JWKSUnavailable
from ehr_integrations.sandbox.oauth_errors import OAuthError
from ehr_integrations.sandbox.tokens import TokenStore

ALGORITHMS = ("RS384", "ES384")
MAX_LIFETIME_S = 300  # SMART Backend Services: exp no more than five minutes in the future
CLOCK_SKEW_S = 2


def _refuse(description: str) -> OAuthError:
    return OAuthError("invalid_client", description)


def _unverified(assertion: str) -> tuple[dict, dict]:
    try:
        compact = jws.extract_compact(assertion.encode())
        return dict(compact.headers()), json.loads(compact.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise _refuse("client_assertion is not a compact JWS") from exc


async def authenticate(
    assertion: str,
    *,
    token_url: str,
    clients: ClientRegistry,
    jwks_cache: JWKSCache,
    tokens: TokenStore,
) -> RegisteredClient:
    """The client whose valid assertion this is; raises OAuthError(invalid_client) otherwise."""
    header, claims = _unverified(assertion)
    if not header.get("kid"):
        raise _refuse("the assertion header must carry kid")
    if header.get("alg") not in ALGORITHMS:
        raise _refuse("the assertion must be signed with RS384 or ES384")
    client = clients.get(str(claims.get("iss", "")))
    if client is None or client.auth != "private_key_jwt":
        raise _refuse("unknown client or client not registered for private_key_jwt")
    if header.get("jku") and header["jku"] != client.jwks_url:
        raise _refuse("jku is not the registered JWKS URL")
    key = await _key_for(client, header["kid"], header["alg"], jwks_cache)
    try:
        verified = jwt.decode(assertion, key, algorithms=[header["alg"]])
    except JoseError as exc:
        raise _refuse("the assertion signature does not verify") from exc
    _check_claims(verified.claims, client=client, token_url=token_url, tokens=tokens)
    return client


async def _key_for(client: RegisteredClient, kid: str, alg: str, jwks_cache: JWKSCache) -> Key:
    try:
        if client.jwks is not None:
            key = _pick(KeySet.import_key_set(client.jwks), kid, alg)
        else:
            key = _pick(await jwks_cache.key_set(client.jwks_url), kid, alg)
            key = key or _pick(await jwks_cache.key_set(client.jwks_url, fresh=True), kid, alg)
    except JWKSUnavailable as exc:
        raise _refuse(str(exc)) from exc
    except JoseError as exc:
        raise _refuse("the registered JWKS is not valid") from exc
    if key is None:
        raise _refuse(f"no registered key has kid {kid!r} for {alg}")
    return key


def _pick(keys: KeySet, kid: str, alg: str) -> Key | None:
    wanted_type = "RSA" if alg.startswith("RS") else "EC"
    for key in keys.keys:
        if key.kid == kid and key.key_type == wanted_type:
            return key
    return None


def _check_claims(claims: dict, *, client: RegisteredClient, token_url: str, tokens: TokenStore) -> None:
    now = time.time()
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise _refuse("iss and sub must both be the client id")
    audience = claims.get("aud")
    if audience != token_url and not (isinstance(audience, list) and token_url in audience):
        raise _refuse("aud must be the token endpoint URL")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise _refuse("exp is required")
    if exp <= now:
        raise _refuse("the assertion has expired")
    if exp > now + MAX_LIFETIME_S + CLOCK_SKEW_S:
        raise _refuse("exp is more than five minutes in the future")
    jti = claims.get("jti")
    if not jti or not isinstance(jti, str):
        raise _refuse("jti is required")
    if not tokens.remember_jti(client.client_id, jti, until=exp):
        raise _refuse("jti has already been used")
