"""What SMART scopes cover: the tools' needs against a grant (the grammar itself: scope_grammar.py).

A v2 scope narrowed by a query (`?category=...`) still counts as coverage, flagged as restricted.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ehr_integrations.query_plans import PLANS
from ehr_integrations.scope_grammar import NON_RESOURCE, Scope, as_v2, parse

__all__ = ["Scope", "as_v2", "parse"]  # the grammar lives in scope_grammar.py (models check it at save)

# What each agent tool reads (its query plan's core and enrichments).
TOOL_NEEDS: dict[str, dict[str, str]] = {tool: plan.needs() for tool, plan in PLANS.items()}


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
        if parse(s) is None and s not in NON_RESOURCE
    ]
    return messages + [str(gap) for gap in coverage_gaps(scope_strings)]
