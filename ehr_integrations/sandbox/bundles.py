"""FHIR Bundles and OperationOutcomes, and the page store behind `next` links.

Next links carry an opaque page token (HAPI style, `_getpages`), never the search values: those can
be PHI and a URL ends up in logs.
"""

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

FHIR_JSON = "application/fhir+json"
MAX_STORED_SEARCHES = 500


def fhir_response(resource: dict, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.json_response(resource, status=status, headers=headers, content_type=FHIR_JSON)


def issue(severity: str, code: str, diagnostics: str) -> dict:
    return {"severity": severity, "code": code, "diagnostics": diagnostics}


def operation_outcome(*issues: dict) -> dict:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def outcome_response(status: int, code: str, diagnostics: str, headers: dict | None = None) -> web.Response:
    return fhir_response(operation_outcome(issue("error", code, diagnostics)), status=status, headers=headers)


def entry(fhir_url: str, resource: dict, mode: str, **search: object) -> dict:
    return {
        "fullUrl": f"{fhir_url}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode, **search},
    }


def searchset(*, total: int, self_url: str, next_url: str | None, entries: list[dict], warnings: list[str]) -> dict:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    if warnings:
        outcome = operation_outcome(*(issue("warning", "not-supported", w) for w in warnings))
        outcome["id"] = "search-warnings"
        entries = [*entries, {"resource": outcome, "search": {"mode": "outcome"}}]
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


@dataclass(frozen=True)
class StoredSearch:
    resource_type: str
    ids: list[str]
    includes: list[str]


class PageStore:
    """Remembers the result ids of searches with more than one page, for their `next` links."""

    def __init__(self) -> None:
        self._searches: OrderedDict[str, StoredSearch] = OrderedDict()

    def put(self, search: StoredSearch) -> str:
        token = secrets.token_urlsafe(12)
        self._searches[token] = search
        while len(self._searches) > MAX_STORED_SEARCHES:
            self._searches.popitem(last=False)
        return token

    def get(self, token: str) -> StoredSearch | None:
        return self._searches.get(token)
