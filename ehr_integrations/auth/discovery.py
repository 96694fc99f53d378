"""SMART discovery: where the token endpoint is and what the server supports.

First `[base]/.well-known/smart-configuration` (SMART App Launch 2.0); if that is missing, the
CapabilityStatement's `rest.security` oauth-uris extension (the older, still common way). Some
vendors want their client id on these unauthenticated requests (Epic: `Epic-Client-ID`).
The result is stored in EHRConnection.discovery for the admin and for `connection_config`. A
connection with neither a configured nor a stored token URL discovers it on first use
(`with_token_url`, on the I/O loop), shares it through the cache and stores it.
A discovered token endpoint is a claim from outside: it is used only on the FHIR base's origin
or a confirmed host (`connection_config.token_endpoint_allowed`), else discovery stops with
`token_endpoint_not_allowed` before any credential is sent.
"""

import dataclasses

from asgiref.sync import sync_to_async
from django.utils import timezone

from ehr_integrations.auth.connection_config import connection_config, forget, token_endpoint_allowed
from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.presets import preset
from ehr_integrations.transport import http as transport
from ehr_integrations.transport import io_loop, shared_cache
from ehr_integrations.transport.connection import ConnectionConfig, host_of

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
# Vendors whose servers expect the client id as a header on discovery and metadata requests.
KEPT_FIELDS = (
    "token_endpoint",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "grant_types_supported",
    "scopes_supported",
    "capabilities",
    "issuer",
    "jwks_uri",
)


def discovery_headers(config: ConnectionConfig, accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if header := preset(config.vendor).client_id_header:
        headers[header] = config.client_id
    return headers


async def discover(config: ConnectionConfig, *, deadline: float) -> dict:
    """The discovery document ({"source", "token_endpoint", ...}); raises if no token endpoint is found."""
    url = f"{config.fhir_base_url}/.well-known/smart-configuration"
    headers = discovery_headers(config, "application/json")
    try:
        response = await transport.send(config, "GET", url, endpoint="discovery", deadline=deadline, headers=headers)
        document = response.json() if response.status_code == 200 else {}
    except ValueError:
        document = {}
    except EHRUnavailable as exc:
        if exc.reason != "server_error":
            raise
        document = {}  # servers that never implemented the well-known file may answer it with a 5xx
    if isinstance(document, dict) and isinstance(document.get("token_endpoint"), str) and document["token_endpoint"]:
        found = {"source": "smart-configuration", **{k: document[k] for k in KEPT_FIELDS if k in document}}
    else:
        found = await _from_capability_statement(config, deadline=deadline)
    _check_token_endpoint(config, found["token_endpoint"])
    return found


def _check_token_endpoint(config: ConnectionConfig, token_url: object) -> None:
    if not isinstance(token_url, str) or not token_endpoint_allowed(config, token_url):
        raise EHRRequestRejected(0, "token_endpoint_not_allowed")


async def _from_capability_statement(config: ConnectionConfig, *, deadline: float) -> dict:
    url = f"{config.fhir_base_url}/metadata"
    headers = discovery_headers(config, "application/fhir+json")
    response = await transport.send(config, "GET", url, endpoint="metadata", deadline=deadline, headers=headers)
    if response.status_code != 200:
        raise EHRRequestRejected(response.status_code, "no_discovery")
    try:
        statement = response.json()
    except ValueError:
        raise EHRUnavailable("invalid_response") from None
    uris = oauth_uris(statement)
    if "token" not in uris:
        raise EHRRequestRejected(0, "no_token_endpoint")
    return {"source": "metadata", "token_endpoint": uris["token"], **{k: v for k, v in uris.items() if k != "token"}}


def oauth_uris(statement: object) -> dict[str, str]:
    """The oauth-uris extension of a CapabilityStatement: {"token": ..., "authorize": ...}; {} for any other shape."""
    for rest in _dicts(statement.get("rest") if isinstance(statement, dict) else None):
        security = rest.get("security")
        for extension in _dicts(security.get("extension") if isinstance(security, dict) else None):
            if extension.get("url") == OAUTH_URIS:
                found = _dicts(extension.get("extension"))
                return {
                    e["url"]: e["valueUri"]
                    for e in found
                    if isinstance(e.get("valueUri"), str) and isinstance(e.get("url"), str)
                }
    return {}


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


DISCOVERY_CACHE_S = 3600


async def with_token_url(config: ConnectionConfig, *, deadline: float) -> ConnectionConfig:
    """The config itself if it knows its token URL, else one completed by discovery (I/O loop side)."""
    if config.token_url:
        return config
    key = f"ehr:discovery:{config.health_system_id}"
    document = await shared_cache.get(key, deadline=deadline)
    if not document:
        document = await discover(config, deadline=deadline)
        await shared_cache.set(key, document, DISCOVERY_CACHE_S, deadline=deadline)
        # The rare path that writes: off the loop, in a worker thread of its own.
        await sync_to_async(store, thread_sensitive=False)(config.health_system_id, document)
    return completed(config, document)


def completed(config: ConnectionConfig, document: dict) -> ConnectionConfig:
    """The config with the discovered token URL (and its host allowed), unless one is configured.

    Raises EHRRequestRejected when the rule refuses the endpoint (a document from the shared cache is checked too).
    """
    if config.token_url:
        return config
    token_url = document.get("token_endpoint")
    _check_token_endpoint(config, token_url)
    return dataclasses.replace(config, token_url=token_url, allowed_hosts=config.allowed_hosts | {host_of(token_url)})


def store(health_system_id: int, document: dict) -> None:
    """Keep what discovery found on the connection (shown in the admin; token URL for connection_config)."""
    EHRConnection.objects.filter(health_system_id=health_system_id).update(
        discovery=document, discovered_at=timezone.now()
    )
    forget()


def refresh_discovery(health_system: HealthSystem, *, timeout_s: float = 10.0) -> dict:
    """Run discovery now (calling thread, outside any transaction) and store what was found."""
    config = connection_config(health_system)
    deadline = io_loop.deadline_in(timeout_s)
    document = io_loop.wait(discover(config, deadline=deadline), deadline=deadline)
    store(health_system.pk, document)
    return document
