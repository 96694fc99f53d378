"""The FHIR R4 client the rest of the gateway uses: search, read and operations on one health system.

    config = connection_config(health_system)            # calling thread: reads the DB
    client = fhir_client(config)                          # cheap; shares the per-process pool
    result = await client.search("Appointment", {"patient": pid, "date": ["ge2025-01-01"]},
                                 deadline=deadline_in(8))  # on the I/O loop

From synchronous code (views, admin, Celery tasks) run it on the I/O loop with `io_loop.wait`:

    result = io_loop.wait(client.search("Patient", params, deadline=deadline), deadline=deadline)

`deadline` is an absolute time.monotonic() value covering the whole agent request (token, retries,
paging). Failures raise ehr_integrations.errors: EHRUnavailable (timeouts, 5xx, 429, open breaker,
deadline), EHRRequestRejected (the EHR refused the request: 4xx; status 0 for a URL we refuse to
call), EHRAuthError (no token could be obtained, or the server refused a fresh one).
A 401 triggers one forced token refresh and one retry. Reasons and messages never carry PHI.
"""

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Unpack

from ehr_integrations.auth import smart_auth, token_cache
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRAuthError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir import capabilities, refusals
from ehr_integrations.presets import preset
from ehr_integrations.transport import http as transport
from ehr_integrations.transport import io_loop
from ehr_integrations.transport.connection import ConnectionConfig

__all__ = [
    "ConnectionConfig",
    "FhirClient",
    "SearchResult",
    "connection_config",
    "deadline_in",
    "fhir_client",
]

FHIR_JSON = "application/fhir+json"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype
RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
# The server does not take searches as a form body (or says so in an OperationOutcome): GET it is.
POST_SEARCH_REFUSALS = (404, 405, 415, 501)
REJECTION_REASONS = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    422: "unprocessable",
    501: "not_implemented",
}


@dataclass(frozen=True)
class SearchResult:
    resources: list[dict]  # the matches (search mode "match"), following next links up to max_pages
    included: list[dict]  # _include'd resources (search mode "include"), without duplicates
    truncated: bool = False  # True when a next link was left unfollowed because of max_pages
    warnings: list[dict] = field(default_factory=list)  # OperationOutcome entries (search mode "outcome")


deadline_in = io_loop.deadline_in


class FhirClient:
    def __init__(self, config: ConnectionConfig, site: capabilities.Inputs | None = None) -> None:
        self.config = config
        self.site = site or capabilities.Inputs(preset(config.vendor), capabilities.ServerFacts(), MappingProxyType({}))
        self._known: tuple[tuple, capabilities.Capabilities] | None = None
        self._refused: frozenset[str] | None = None  # read once per client (one agent request or prefetch)

    async def capabilities(self, *, deadline: float) -> capabilities.Capabilities:
        """The effective capabilities now: the site's, the current token's grant and remembered refusals."""
        granted = None
        if smart_auth.requires_token(self.config):
            # An empty grant is read as unknown (a token cached before grants were kept says nothing;
            # a token granting nothing is refused by the EHR anyway), never as "withhold everything".
            granted = await token_cache.granted_scopes(self.config, deadline=deadline) or None
        if self._refused is None:
            self._refused = await refusals.refused(self.config, deadline=deadline)
        known = (granted, self._refused)
        if self._known is None or self._known[0] != known:
            self._known = (known, capabilities.effective_cached(self.site, *known))
        return self._known[1]

    async def search(
        self, resource_type: str, params: dict[str, str | list[str]], *, deadline: float, max_pages: int = 5
    ) -> SearchResult:
        """A search, following `next` links (checked against the host allowlist). The parameters go in a
        form body (`POST [type]/_search`: an EHR's access logs are PHI too) unless the site refused
        that (404/405, remembered) or is set to GET; then `GET [type]?params`."""
        url: str | None = f"{self.config.fhir_base_url}/{_checked_type(resource_type)}"
        resources: list[dict] = []
        included: dict[tuple[str, str], dict] = {}
        warnings: list[dict] = []
        bundle = await self._first_page(url, resource_type, params, deadline=deadline)
        for page in range(max_pages):
            if page:
                bundle = await self._json("GET", url, endpoint=resource_type, deadline=deadline)
            if bundle.get("resourceType") != "Bundle":
                raise EHRUnavailable("invalid_response")
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource")
                if not isinstance(resource, dict):
                    continue
                mode = (entry.get("search") or {}).get("mode", "match")
                if mode == "include":
                    included[(resource.get("resourceType", ""), resource.get("id", ""))] = resource
                elif mode == "outcome" or resource.get("resourceType") == "OperationOutcome":
                    warnings.append(resource)
                else:
                    resources.append(resource)
            url = _next_link(bundle)
            if url is None:
                break
        return SearchResult(resources, list(included.values()), truncated=url is not None, warnings=warnings)

    async def remember_refusal(self, name: str, *, deadline: float) -> None:
        """The server answered that it will not do `name` (refusals.NAMES): not asked again for the hour."""
        self._refused = (self._refused or frozenset()) | {name}
        await refusals.remember(self.config, name, deadline=deadline)

    async def _first_page(self, url: str, resource_type: str, params: dict, *, deadline: float) -> dict:
        """POST _search unless the site refused it; a refusal is remembered only once the same search
        by GET succeeded (a 404 that meant "no such resource type" says nothing about POST)."""
        if not (await self.capabilities(deadline=deadline)).post_search:
            return await self._json("GET", url, endpoint=resource_type, deadline=deadline, params=params)
        try:
            return await self._json(
                "POST", f"{url}/_search", endpoint=resource_type, deadline=deadline, retry=True, data=params,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
        except EHRRequestRejected as refused:
            if refused.status not in POST_SEARCH_REFUSALS and refused.reason != "not_supported":
                raise
        bundle = await self._json("GET", url, endpoint=resource_type, deadline=deadline, params=params)
        await self.remember_refusal("post_search", deadline=deadline)
        return bundle

    async def read(self, resource_type: str, resource_id: str, *, deadline: float) -> dict:
        """GET [base]/[type]/[id]; a missing resource is EHRRequestRejected(404, "not_found")."""
        if not FHIR_ID.match(resource_id):
            raise EHRRequestRejected(0, "invalid_id")
        url = f"{self.config.fhir_base_url}/{_checked_type(resource_type)}/{resource_id}"
        return await self._json("GET", url, endpoint=resource_type, deadline=deadline)

    async def post_operation(self, path: str, body: dict, *, deadline: float) -> dict:
        """POST [base]/[path] (e.g. "Patient/$match"); never retried except once after a 401."""
        url = f"{self.config.fhir_base_url}/{path.lstrip('/')}"
        headers = {"Content-Type": FHIR_JSON}
        return await self._json("POST", url, endpoint=path, deadline=deadline, json=body, headers=headers)

    async def create(self, resource: dict, *, deadline: float, if_none_exist: str | None = None) -> tuple[int, dict]:
        """POST [base]/[type] (never retried: a write that may have landed is resolved by searching,
        ehr_integrations/fhir/writes.py); (status, body). `if_none_exist`: a conditional create's query."""
        resource_type = _checked_type(str(resource.get("resourceType", "")))
        headers = {"Content-Type": FHIR_JSON, "Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        url = f"{self.config.fhir_base_url}/{resource_type}"
        response = await self._authorized(
            "POST", url, endpoint=resource_type, deadline=deadline, retry=False, json=resource, headers=headers
        )
        return response.status_code, _body(_accepted(response))

    async def patch(self, resource_type: str, resource_id: str, operations: list[dict], *, deadline: float) -> dict:
        """PATCH [base]/[type]/[id] with a JSON Patch (never retried: the caller reads back to settle it)."""
        if not FHIR_ID.match(resource_id):
            raise EHRRequestRejected(0, "invalid_id")
        url = f"{self.config.fhir_base_url}/{_checked_type(resource_type)}/{resource_id}"
        headers = {"Content-Type": "application/json-patch+json", "Prefer": "return=representation"}
        return await self._json(
            "PATCH", url, endpoint=resource_type, deadline=deadline, retry=False, json=operations, headers=headers
        )

    async def capability_statement(self, *, deadline: float) -> dict:
        """GET [base]/metadata (public on every server; no token sent)."""
        url = f"{self.config.fhir_base_url}/metadata"
        response = await transport.send(
            self.config, "GET", url, endpoint="metadata", deadline=deadline, headers={"Accept": FHIR_JSON}
        )
        return _body(_accepted(response))

    async def _json(
        self, method: str, url: str, *, endpoint: str, deadline: float, retry: bool | None = None,
        **kwargs: Unpack[transport.RequestOptions],
    ) -> dict:  # fmt: skip
        response = await self._authorized(method, url, endpoint=endpoint, deadline=deadline, retry=retry, **kwargs)
        return _body(_accepted(response))

    async def _authorized(
        self, method: str, url: str, *, endpoint: str, deadline: float, retry: bool | None = None,
        **kwargs: Unpack[transport.RequestOptions],
    ) -> transport.EHRResponse:  # fmt: skip
        headers = {"Accept": FHIR_JSON, **kwargs.pop("headers", {})}
        if not smart_auth.requires_token(self.config):
            return await transport.send(
                self.config, method, url, endpoint=endpoint, deadline=deadline, headers=headers, retry=retry, **kwargs
            )
        token = await token_cache.access_token(self.config, deadline=deadline)
        response = await transport.send(
            self.config, method, url, endpoint=endpoint, deadline=deadline, retry=retry,
            headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs,
        )  # fmt: skip
        if response.status_code != 401:
            return response
        # A 401 means the request was not processed, so even a POST may be sent once more.
        token = await token_cache.replacement_token(self.config, rejected=token, deadline=deadline)
        response = await transport.send(
            self.config, method, url, endpoint=endpoint, deadline=deadline, retry=retry,
            headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs,
        )  # fmt: skip
        if response.status_code == 401:
            raise EHRAuthError("invalid_token", "the FHIR server refused a freshly issued token")
        return response


def fhir_client(config: ConnectionConfig) -> FhirClient:
    return FhirClient(config)


def _checked_type(resource_type: str) -> str:
    if not RESOURCE_TYPE.match(resource_type):
        raise EHRRequestRejected(0, "invalid_resource_type")
    return resource_type


def _accepted(response: transport.EHRResponse) -> transport.EHRResponse:
    if response.status_code >= 400:
        code = _outcome_code(response)
        if code == "not-supported":  # the server says so, whatever the status
            raise EHRRequestRejected(response.status_code, "not_supported", outcome_code=code)
        reason = REJECTION_REASONS.get(response.status_code, "rejected")
        raise EHRRequestRejected(response.status_code, reason, outcome_code=code)
    return response


def _outcome_code(response: transport.EHRResponse) -> str | None:
    """The first issue code of an OperationOutcome answer (a code from a fixed value set, never PHI)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    issues = body.get("issue")
    first = issues[0] if isinstance(issues, list) and issues and isinstance(issues[0], dict) else {}
    code = first.get("code")
    return code if isinstance(code, str) else None


def _body(response: transport.EHRResponse) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise EHRUnavailable("invalid_response") from None
    if not isinstance(body, dict):
        raise EHRUnavailable("invalid_response")
    return body


def _next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None
