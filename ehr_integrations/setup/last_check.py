"""The last "Test connection" of each health system, kept for its go-live checklist.

In the shared cache beside the breaker state, for 30 days: a month-old test proves little, and an
engineer runs it again before go-live. No PHI: step names, tool outcomes and the granted scopes.
"""

import time
from dataclasses import dataclass

from ehr_integrations.transport import io_loop, shared_cache

KEEP_S = 30 * 24 * 3600.0
READ_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ToolResult:
    tool: str
    works: bool
    outcome: str


@dataclass(frozen=True)
class LastCheck:
    at: float
    summary: str
    ok: bool
    tools: list[ToolResult]
    granted: list[str] | None  # None: no token was granted (or auth method none)
    problems: list[str]  # "Step: diagnosis" of each failed step (diagnoses.py), plain language


def _key(health_system_id: int) -> str:
    return f"ehr:lastcheck:{health_system_id}"


def store(
    health_system_id: int,
    *,
    summary: str,
    ok: bool,
    tools: list[ToolResult],
    granted: list[str] | None,
    problems: list[str],
) -> None:
    value = {
        "problems": problems,
        "at": time.time(),
        "summary": summary,
        "ok": ok,
        "tools": [[t.tool, t.works, t.outcome] for t in tools],
        "granted": granted,
    }
    deadline = io_loop.deadline_in(READ_TIMEOUT_S)
    io_loop.wait(shared_cache.set(_key(health_system_id), value, KEEP_S, deadline=deadline), deadline=deadline)


def load(health_system_id: int) -> LastCheck | None:
    """The last test's result, or None when none ran in the last 30 days. Raises CacheUnavailable."""
    deadline = io_loop.deadline_in(READ_TIMEOUT_S)
    value = io_loop.wait(shared_cache.get(_key(health_system_id), deadline=deadline), deadline=deadline)
    if not isinstance(value, dict):
        return None
    tools = [ToolResult(tool, bool(works), outcome) for tool, works, outcome in value["tools"]]
    return LastCheck(
        value["at"], value["summary"], bool(value["ok"]), tools, value["granted"], value.get("problems", [])
    )
