"""Clients registered with the sandbox's authorization server (in memory, set through the control API)."""

import secrets
from dataclasses import dataclass

AUTH_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")
INTERNAL_CLIENT_ID = "sandbox-test-harness"


class RegistrationError(ValueError):
    pass


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    scopes: tuple[str, ...]
    auth: str
    jwks_url: str | None = None
    jwks: dict | None = None
    secret: str | None = None
    # "exact": a request for any scope not registered is refused (invalid_scope); "narrow": the token
    # is issued for the registered part only and its `scope` says so (RFC 6749 3.3 allows both).
    grant: str = "exact"

    @property
    def internal(self) -> bool:
        return self.client_id == INTERNAL_CLIENT_ID


def build(data: dict) -> RegisteredClient:
    """Validate a registration request body into a client."""
    auth = data.get("auth", "private_key_jwt")
    client_id = data.get("client_id")
    if not client_id or not isinstance(client_id, str):
        raise RegistrationError("client_id is required")
    if auth not in AUTH_METHODS:
        raise RegistrationError(f"auth must be one of {', '.join(AUTH_METHODS)}")
    if auth == "private_key_jwt" and not (data.get("jwks_url") or data.get("jwks")):
        raise RegistrationError("private_key_jwt needs jwks_url or jwks")
    if auth != "private_key_jwt" and not data.get("secret"):
        raise RegistrationError(f"{auth} needs a secret")
    grant = data.get("grant", "exact")
    if grant not in ("exact", "narrow"):
        raise RegistrationError("grant must be exact or narrow")
    return RegisteredClient(
        grant=grant,
        client_id=client_id,
        scopes=tuple(data.get("scopes") or ()),
        auth=auth,
        jwks_url=data.get("jwks_url"),
        jwks=data.get("jwks"),
        secret=data.get("secret"),
    )


class ClientRegistry:
    def __init__(self) -> None:
        self._clients: dict[str, RegisteredClient] = {}
        self.internal = RegisteredClient(
            client_id=INTERNAL_CLIENT_ID,
            scopes=("system/*.read",),
            auth="client_secret_basic",
            secret=secrets.token_urlsafe(24),
        )
        self.clear()

    def register(self, client: RegisteredClient) -> None:
        self._clients[client.client_id] = client

    def get(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)

    def clear(self) -> None:
        """Forget every client except the internal test-harness client."""
        self._clients = {self.internal.client_id: self.internal}
