"""SMART scopes in v1 (`system/Patient.read`) and v2 (`system/Patient.rs`) syntax.

A requested scope is granted when a registered scope of the same context covers its resource type
and every permission it asks for (v1 `read` is v2 `rs`, `write` is `cud`, `*` is everything).
"""

from dataclasses import dataclass

V1_PERMISSIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
V2_LETTERS = "cruds"


@dataclass(frozen=True)
class Scope:
    context: str  # system, patient or user
    resource: str  # a resource type or "*"
    permissions: frozenset[str]


def parse(text: str) -> Scope | None:
    """The scope's parts, or None when it is not a SMART resource scope."""
    context, slash, rest = text.partition("/")
    resource, dot, action = rest.partition(".")
    action = action.split("?", 1)[0]
    if not slash or not dot or context not in {"system", "patient", "user"} or not resource:
        return None
    if action in V1_PERMISSIONS:
        return Scope(context, resource, V1_PERMISSIONS[action])
    # v2 letters must appear in c-r-u-d-s order, each at most once.
    if action and all(ch in V2_LETTERS for ch in action) and "".join(sorted(action, key=V2_LETTERS.index)) == action:
        return Scope(context, resource, frozenset(action))
    return None


def is_v1(text: str) -> bool:
    """Whether a scope is written in SMART v1 grammar (`.read`, `.write`, `.*`)."""
    action = text.partition("/")[2].partition(".")[2].split("?", 1)[0]
    return action in V1_PERMISSIONS


def covers(granted: Scope, wanted: Scope) -> bool:
    return (
        granted.context == wanted.context
        and granted.resource in {"*", wanted.resource}
        and wanted.permissions <= granted.permissions
    )


def refused(registered: list[str], requested: list[str]) -> list[str]:
    """The requested scopes the registration does not cover (empty when all may be granted)."""
    allowed = [s for s in (parse(text) for text in registered) if s]
    result = []
    for text in requested:
        wanted = parse(text)
        if wanted is None or not any(covers(g, wanted) for g in allowed):
            result.append(text)
    return result


def permits(granted: list[str], resource_type: str, permission: str) -> bool:
    """Whether a token with these scopes may do `permission` ("r" read, "s" search) on the resource type."""
    wanted = Scope("system", resource_type, frozenset(permission))
    for text in granted:
        scope = parse(text)
        if scope and covers(Scope("system", scope.resource, scope.permissions), wanted):
            return True
    return False
