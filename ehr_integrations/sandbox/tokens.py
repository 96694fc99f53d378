"""Access tokens the sandbox issued, and the assertion ids (`jti`) it has already seen."""

import secrets
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


class TokenStore:
    def __init__(self, lifetime: int) -> None:
        self.lifetime = lifetime
        self._tokens: dict[str, IssuedToken] = {}
        self._seen_jti: dict[tuple[str, str], float] = {}

    def issue(self, client_id: str, scopes: list[str]) -> tuple[str, int]:
        self._purge()
        token = secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(client_id, tuple(scopes), time.time() + self.lifetime)
        return token, self.lifetime

    def lookup(self, token: str) -> IssuedToken | None:
        issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return None
        return issued

    def remember_jti(self, client_id: str, jti: str, until: float) -> bool:
        """Record an assertion id; False when this client already used it (a replay)."""
        self._purge()
        key = (client_id, jti)
        if key in self._seen_jti:
            return False
        self._seen_jti[key] = until
        return True

    def expire_all(self) -> None:
        self._tokens.clear()

    def _purge(self) -> None:
        now = time.time()
        if len(self._tokens) > 10_000:
            self._tokens = {k: v for k, v in self._tokens.items() if v.expires_at > now}
        if len(self._seen_jti) > 10_000:
            self._seen_jti = {k: v for k, v in self._seen_jti.items() if v > now}
