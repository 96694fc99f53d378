"""Test-side SMART client assertions, signed with joserfc (not the gateway's client code)."""

import time
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def es384_key(kid: str = "test-es384") -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": kid})


def rs384_key(kid: str = "test-rs384") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def public_jwks(*keys) -> dict:
    return KeySet(list(keys)).as_dict(private=False)


def assertion(key, *, client_id: str, aud: str, exp_in: float = 240, jti: str | None = None, **overrides) -> str:
    alg = "ES384" if isinstance(key, ECKey) else "RS384"
    header = {"alg": alg, "typ": "JWT", "kid": key.kid, **overrides.pop("header", {})}
    header = {k: v for k, v in header.items() if v is not None}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": int(time.time() + exp_in),
        "jti": jti or uuid.uuid4().hex,
        **overrides,
    }
    return jwt.encode(header, claims, key, algorithms=[alg])


def token_form(signed: str, scope: str) -> dict:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": signed,
    }
