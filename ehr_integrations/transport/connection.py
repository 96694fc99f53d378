"""What the transport needs to know about one EHR connection: plain, frozen data.

Built by ehr_integrations/auth/connection_config.py in the calling thread (code on the I/O loop
must not query the database). It holds decrypted credentials: never log it (the secret fields are
excluded from repr).
"""

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    algorithm: str
    private_pem: str = field(repr=False)


@dataclass(frozen=True)
class BreakerPolicy:
    failure_rate: float = 0.5
    min_calls: int = 5
    window_s: float = 30.0
    open_s: float = 30.0
    half_open_probes: int = 1


@dataclass(frozen=True)
class ConnectionConfig:
    health_system_id: int
    slug: str
    vendor: str
    fhir_base_url: str  # without a trailing slash
    token_url: str
    auth_method: str
    client_id: str
    client_secret: str = field(repr=False)
    signing_key: SigningMaterial | None
    scopes: tuple[str, ...]
    connect_timeout_s: float
    read_timeout_s: float
    request_deadline_s: float
    max_retries: int
    breaker: BreakerPolicy
    allowed_hosts: frozenset[str]
    # Hosts the onboarding engineer confirmed for tokens besides the FHIR base's origin: the extra
    # allowed hosts, the configured token URL's host and the vendor preset's authorization hosts.
    confirmed_token_hosts: frozenset[str] = frozenset()
    # When a published key's grace period ends and assertions must switch to it (epoch seconds).
    signing_key_until: float | None = field(default=None, compare=False)

    @property
    def token_fetch_s(self) -> float:
        """How long one token request may take: connecting, reading, and a second for signing and the cache."""
        return self.connect_timeout_s + self.read_timeout_s + 1

    @property
    def credentials_fingerprint(self) -> str:
        """Changes whenever what a token is issued for changes (cache keys use it, never the secret).

        The FHIR base, not the token URL: a connection that discovers its token endpoint on first use
        keeps the same key before and after (one token request, not two).
        """
        parts = (self.client_id, self.fhir_base_url, self.auth_method, " ".join(self.scopes))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; ValueError for a bad port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower().rstrip("."), parts.port or default
