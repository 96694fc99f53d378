""" "Test connection": discovery, token, metadata and one sample search, each timed and diagnosed.

Used by the admin. The sample search shows only how many entries came back, never their content.
The token fetched here is not cached: it proves the credentials, nothing else uses it.
"""

import dataclasses
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ehr_integrations.auth import discovery, scopes, smart_auth
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRAuthError, EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir import refusals
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.models import HealthSystem
from ehr_integrations.transport import http as transport
from ehr_integrations.transport import io_loop
from ehr_integrations.transport.connection import ConnectionConfig


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    ms: float
    detail: str = ""
    diagnosis: str = ""  # plain language, when it failed
    skipped: bool = False


@dataclass(frozen=True)
class CheckReport:
    steps: list[Step]
    scope_warnings: list[str]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


def check_connection(health_system: HealthSystem, *, jwks_url: str = "") -> CheckReport:
    """Run the four steps in order; a step that needs an earlier one is skipped when that one failed.

    A `$match` refusal remembered for this connection is forgotten: the site may have granted it since.
    """
    refusals.forget(health_system.pk)
    config = connection_config(health_system)
    found, step = _timed("Discovery", config, jwks_url, lambda d: discovery.discover(config, deadline=d))
    steps = [dataclasses.replace(step, detail=_describe_discovery(found)) if found else step]
    if found:
        discovery.store(health_system.pk, found)
        config = discovery.completed(config, found)
    grant, step = _token_step(config, jwks_url)
    steps.append(step)
    client = FhirClient(config)
    statement, step = _timed("Metadata", config, jwks_url, lambda d: client.capability_statement(deadline=d))
    steps.append(dataclasses.replace(step, detail=_describe_statement(statement)) if statement else step)
    steps.append(_search_step(config, jwks_url, grant))
    granted = grant.scope.split() if grant and grant.scope else list(config.scopes)
    return CheckReport(steps, [str(gap) for gap in scopes.coverage_gaps(granted)])


def _timed(
    name: str, config: ConnectionConfig, jwks_url: str, make: Callable[[float], Coroutine[Any, Any, Any]]
) -> tuple[Any, Step]:
    started = time.monotonic()
    deadline = io_loop.deadline_in(config.request_deadline_s)
    try:
        result = io_loop.wait(make(deadline), deadline=deadline)
    except EHRError as exc:
        return None, Step(name, False, _ms(started), diagnosis=diagnose(exc, config, jwks_url))
    return result, Step(name, True, _ms(started))


def _token_step(config: ConnectionConfig, jwks_url: str) -> tuple[smart_auth.TokenGrant | None, Step]:
    if not smart_auth.requires_token(config):
        return None, Step("Token", True, 0.0, detail="auth method none: no token used (loopback sandbox)")
    grant, step = _timed("Token", config, jwks_url, lambda d: smart_auth.fetch_token(config, deadline=d))
    if grant is None:
        return None, step
    signed = f", assertion signed with {grant.kid}" if grant.kid else ""
    detail = f"token granted for {int(grant.expires_in)} s{signed}; scopes granted: {grant.scope or '(not stated)'}"
    return grant, dataclasses.replace(step, detail=detail)


def _search_step(config: ConnectionConfig, jwks_url: str, grant: smart_auth.TokenGrant | None) -> Step:
    if grant is None and smart_auth.requires_token(config):
        return Step("Sample search", False, 0.0, diagnosis="Skipped: no token.", skipped=True)
    headers = {"Accept": "application/fhir+json"}
    if grant is not None:
        headers["Authorization"] = f"Bearer {grant.access_token}"
    url = f"{config.fhir_base_url}/Patient"

    async def search(deadline: float) -> transport.EHRResponse:
        return await transport.send(
            config, "GET", url, endpoint="Patient", deadline=deadline, params={"_count": "1"}, headers=headers
        )

    response, step = _timed("Sample search", config, jwks_url, search)
    if response is None:
        return step
    if response.status_code in (401, 403):
        return dataclasses.replace(step, ok=False, diagnosis=_refused_search(response.status_code))
    if response.status_code >= 400:
        return dataclasses.replace(step, ok=False, diagnosis=f"Patient search was refused ({response.status_code}).")
    entries = len(response.json().get("entry") or [])
    return dataclasses.replace(
        step, detail=f"Patient?_count=1 answered {response.status_code} with {entries} entry(ies)"
    )


def _refused_search(status: int) -> str:
    if status == 403:
        return "Scope refused: the token does not allow Patient search (ask for system/Patient.rs or .read)."
    return "The FHIR server refused the token it just issued (401): check that the token and FHIR URLs match."


def _describe_discovery(found: dict) -> str:
    source = (
        ".well-known/smart-configuration" if found.get("source") == "smart-configuration" else "CapabilityStatement"
    )
    return f"token endpoint {found['token_endpoint']} (from {source})"


def _describe_statement(statement: dict) -> str:
    software = (statement.get("software") or {}).get("name", "unnamed server")
    return f"FHIR {statement.get('fhirVersion', '?')}, {software}"


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


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
