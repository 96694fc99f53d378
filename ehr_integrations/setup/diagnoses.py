"""Plain-language diagnoses of EHR failures for Test connection: what went wrong and what to check.

No secrets and no PHI: the sentences name URLs, client ids and scopes, never a token or a value.
"""

from ehr_integrations.errors import EHRAuthError, EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.transport.connection import ConnectionConfig


def diagnose(exc: EHRError, config: ConnectionConfig, jwks_url: str = "") -> str:
    """One plain-language sentence (or two) on what went wrong and what to check."""
    if isinstance(exc, EHRAuthError):
        return _auth_diagnosis(exc, config, jwks_url)
    if isinstance(exc, EHRUnavailable):
        return _unavailable_diagnosis(exc.reason.removeprefix("token_"), exc.retry_after, config)
    if isinstance(exc, EHRRequestRejected):
        return REJECTIONS.get(exc.reason, f"The EHR refused the request ({exc.status} {exc.reason}).")
    return f"Failed: {type(exc).__name__}."


def _auth_diagnosis(exc: EHRAuthError, config: ConnectionConfig, jwks_url: str) -> str:
    text = exc.description.lower()
    if exc.error == "invalid_scope":
        return f"Scope refused: the EHR would not grant what was asked ({exc.description})."
    if exc.error == "unauthorized_client":
        return "The EHR does not allow this client the client_credentials grant (backend access not enabled)."
    if exc.error != "invalid_client":
        return f"The token endpoint refused the request: {exc.error} {exc.description}".strip()
    if "aud" in text:
        return f"Wrong aud: the EHR expects a different token URL than {config.token_url}. Use the discovered one."
    if "unknown client" in text or "not registered" in text or "client_id" in text:
        return (
            f"Unknown client: the EHR does not know client id '{config.client_id}' for {config.auth_method}. "
            "Check the client id and that the app is registered and activated at this site."
        )
    if "kid" in text or "signature" in text or "jwks" in text:
        where = f" ({jwks_url})" if jwks_url else ""
        return f"The EHR could not verify our signature: register our JWKS URL{where} and make sure it can reach it."
    if "secret" in text:
        return "Wrong client secret: enter the secret the EHR issued for this client id."
    if "exp" in text or "jti" in text:
        return "The EHR refused the assertion's timing or id: check the gateway server's clock."
    return f"The EHR refused our client authentication: {exc.description or exc.error}"


def _unavailable_diagnosis(reason: str, retry_after: float | None, config: ConnectionConfig) -> str:
    if reason == "tls_error":
        return "TLS failed: the certificate could not be verified, or the server does not speak HTTPS on that port."
    if reason in ("timeout", "deadline_exceeded"):
        return (
            f"Timed out: no answer within {config.read_timeout_s:g} s. The server may be down or a firewall drops us."
        )
    if reason == "connect_error":
        return "Could not connect: check the host name and port, and that this network may reach the EHR."
    if reason == "rate_limited":
        return f"The EHR is rate-limiting us; try again in {retry_after or 0:.0f} s."
    if reason == "breaker_open":
        return "Paused after repeated failures (circuit breaker open); the gateway tries again by itself shortly."
    if reason == "server_error":
        return "The EHR answered with a server error (5xx): it is having trouble; try again later."
    return f"The EHR could not answer ({reason})."


REJECTIONS = {
    "https_required": "The URL must use https; plain http is allowed only for a loopback sandbox.",
    "host_not_allowed": "That host is not allowed for this health system "
    "(allowed: the FHIR base host, the token URL host and the extra allowed hosts).",
    "address_not_allowed": "Refused by the EHR address policy: the URL names or resolves to a loopback, private, "
    "link-local or cloud metadata address. EHR and token URLs must be https to a public address "
    "(an on-premises network can be allowed with EHR_ALLOWED_NETWORKS).",
    "token_endpoint_not_allowed": "The discovery document names a token endpoint outside the FHIR base's origin and "
    "the confirmed hosts: no credential was sent. If that host really is the EHR's authorization server, add it to "
    "the extra allowed hosts or enter the token URL by hand.",
    "no_token_endpoint": "Neither .well-known/smart-configuration nor the CapabilityStatement names a token endpoint; "
    "enter the token URL by hand.",
    "no_discovery": "The server answered neither .well-known/smart-configuration nor /metadata; "
    "check the FHIR base URL.",
    "not_found": "Not found: check the FHIR base URL.",
}
