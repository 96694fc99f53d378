"""SMART scopes in v1 (`system/Patient.read`) and v2 (`system/Patient.rs`) syntax, and what they cover.

SMART App Launch 2.0, "Scopes for requesting clinical data": v2 permissions are c, r, u, d, s in
that order; v1 `read` equals v2 `rs`, `write` equals `cud`, `*` equals all. A v2 scope may carry a
query (`?category=...`) that narrows it; it still counts as coverage, flagged as restricted.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ehr_integrations.query_plans import PLANS

V1 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")
V2 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(c?r?u?d?s?)(\?.+)?$")
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}

# What each agent tool reads (its query plan's core and enrichments).
TOOL_NEEDS: dict[str, dict[str, str]] = {tool: plan.needs() for tool, plan in PLANS.items()}


@dataclass(frozen=True)
class Scope:
    context: str  # patient, user or system
    resource_type: str  # or "*"
    permissions: frozenset[str]
    restricted: bool  # a v2 query narrows it
    version: int


def parse(scope: str) -> Scope | None:
    """One scope string, or None when it is not a resource scope (openid, launch, offline_access...)."""
    if match := V1.match(scope):
        context, resource, action = match.groups()
        return Scope(context, resource, frozenset(V1_PERMISSIONS[action]), False, 1)
    if (match := V2.match(scope)) and match.group(3):
        context, resource, permissions, query = match.groups()
        return Scope(context, resource, frozenset(permissions), bool(query), 2)
    return None


def as_v2(scope: str) -> str:
    """A SMART v1 resource scope in v2 grammar (`system/Patient.read` -> `system/Patient.rs`); others as given."""
    if match := V1.match(scope):
        context, resource, action = match.groups()
        return f"{context}/{resource}.{V1_PERMISSIONS[action]}"
    return scope


def _covering(scopes: list[Scope], resource_type: str, permission: str) -> list[Scope]:
    return [
        s
        for s in scopes
        if s.context == "system" and s.resource_type in (resource_type, "*") and permission in s.permissions
    ]


def covers(scopes: list[Scope], resource_type: str, permission: str) -> bool:
    """Whether the parsed (system-level) scopes allow the permission, a query-narrowed scope included."""
    return bool(_covering(scopes, resource_type, permission))


@dataclass(frozen=True)
class Gap:
    tool: str
    resource_type: str
    permission: str  # r (read) or s (search)
    restricted: bool  # covered only by a query-narrowed scope

    def __str__(self) -> str:
        action = {"r": "read", "s": "search"}[self.permission]
        if self.restricted:
            return f"{self.tool}: {action} on {self.resource_type} is covered only by a narrowed (?query) scope"
        return f"{self.tool}: needs {action} on {self.resource_type}, which the scopes do not cover"


def coverage_gaps(scope_strings: Iterable[str], tools: Iterable[str] | None = None) -> list[Gap]:
    """What the given tools need that the (system-level) scopes do not grant."""
    parsed = [s for s in (parse(x) for x in scope_strings) if s is not None]
    gaps = []
    for tool in tools if tools is not None else TOOL_NEEDS:
        for resource_type, permissions in TOOL_NEEDS[tool].items():
            for permission in permissions:
                covering = _covering(parsed, resource_type, permission)
                if not covering or all(s.restricted for s in covering):
                    gaps.append(Gap(tool, resource_type, permission, restricted=bool(covering)))
    return gaps


def warnings(scope_strings: Iterable[str]) -> list[str]:
    """Plain-language warnings for the admin: unreadable scopes and tools left uncovered."""
    scope_strings = list(scope_strings)
    messages = [
        f"'{s}' is not a system-level resource scope (SMART Backend Services grants only system/ scopes)"
        for s in scope_strings
        if (parsed := parse(s)) is not None and parsed.context != "system"
    ]
    messages += [
        f"'{s}' is not a SMART scope this gateway understands"
        for s in scope_strings
        if parse(s) is None and s not in ("openid", "fhirUser", "offline_access", "online_access")
    ]
    return messages + [str(gap) for gap in coverage_gaps(scope_strings)]
