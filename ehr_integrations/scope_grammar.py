"""SMART scope grammar, v1 (`system/Patient.read`) and v2 (`system/Patient.rs`): reading one scope, and
the save-time check of a connection's scopes (models) that the coverage rules (auth/scopes.py) build on.

SMART App Launch 2.0, "Scopes for requesting clinical data": v2 permissions are c, r, u, d, s in
that order; v1 `read` equals v2 `rs`, `write` equals `cud`, `*` equals all. A v2 scope may carry a
query (`?category=...`) that narrows it. SMART Backend Services grants only `system/` scopes.
"""

import re
from dataclasses import dataclass

V1 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")
V2 = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(c?r?u?d?s?)(\?.+)?$")
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# Scopes that are not resource scopes but that a token endpoint may list; harmless to ask for.
NON_RESOURCE = ("openid", "fhirUser", "offline_access", "online_access")
EXAMPLE = "system/Patient.read (v1) or system/Patient.rs (v2)"


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


def scope_errors(scopes: str) -> list[str]:
    """What is wrong with a space-separated scope list, in words for the field (empty when it is sound)."""
    items = scopes.split()
    if not items:
        return [f"At least one SMART scope is needed, e.g. {EXAMPLE}."]
    unreadable = [s for s in items if parse(s) is None and s not in NON_RESOURCE]
    not_system = [s for s in items if (parsed := parse(s)) is not None and parsed.context != "system"]
    errors = []
    if unreadable:
        errors.append(f"Not SMART v1 or v2 scope grammar: {', '.join(unreadable)} (write scopes as {EXAMPLE}).")
    if not_system:
        errors.append(
            f"Not a system-level scope: {', '.join(not_system)} (SMART Backend Services grants only system/ scopes)."
        )
    return errors
