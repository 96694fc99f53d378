""" "Test connection": discovery, token, metadata, then every tool's planned queries, each timed and diagnosed.

Used by the admin. Metadata records what the CapabilityStatement advertises on the connection (the
effective capabilities read it). The token is fetched afresh into the token cache: it proves today's
credentials, and what it grants is what the tool probes and the calls after them work with. The
probes (tool_probes.py) ask with an identity that matches nobody and show only counts.

Summary: "All steps passed" when every step and every tool works as planned; "Passed with
fallbacks" when every tool's core query works but something falls back (a refused `$match`, GET for
POST _search, an enrichment whose fields stay empty): calls will answer, with what the fallback
leaves out; "Some steps failed" when a step fails or a tool's core query is refused, unsupported or
unavailable (that tool answers nothing).
"""

import dataclasses
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from ehr_integrations.auth import discovery, scopes, smart_auth, token_cache
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRError, EHRUnavailable
from ehr_integrations.fhir import refusals, write_routes
from ehr_integrations.fhir.capabilities import ServerFacts
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.site import site_inputs
from ehr_integrations.models import EHRConnection, HealthSystem, VerificationPolicy
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.setup import last_check
from ehr_integrations.setup.diagnoses import diagnose
from ehr_integrations.setup.tool_probes import ToolOutcome, probe_tools
from ehr_integrations.transport import io_loop, shared_cache
from ehr_integrations.transport.connection import ConnectionConfig

__all__ = ["CheckReport", "Step", "check_connection", "diagnose"]
PROBES_GRACE_S = 1.0  # past the probes' own deadline, for their answers to come back from the loop


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
    tools: list[ToolOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every step passed and every tool's core query works (fallbacks allowed)."""
        return all(step.ok for step in self.steps) and all(tool.core_works for tool in self.tools)

    @property
    def fallbacks(self) -> list[ToolOutcome]:
        return [tool for tool in self.tools if tool.core_works and tool.outcome != "works"]

    @property
    def summary(self) -> str:
        if not self.ok:
            return "Some steps failed"
        return "Passed with fallbacks" if self.fallbacks else "All steps passed"


def check_connection(health_system: HealthSystem, *, jwks_url: str = "") -> CheckReport:
    """Run the steps in order; a step that needs an earlier one is skipped when that one failed.

    The refusals remembered for this connection (`$match`, POST _search) are forgotten first: the
    site may allow them now, and the probes ask again.
    """
    refusals.forget(health_system.pk)
    config = connection_config(health_system)
    found, step = _timed("Discovery", config, jwks_url, lambda d: discovery.discover(config, deadline=d))
    steps = [dataclasses.replace(step, detail=_describe_discovery(found)) if found else step]
    if found:
        discovery.store(health_system.pk, found)
        config = discovery.completed(config, found)
    granted, step = _token_step(config, jwks_url)
    steps.append(step)
    client = FhirClient(config)
    statement, step = _timed("Metadata", config, jwks_url, lambda d: client.capability_statement(deadline=d))
    steps.append(dataclasses.replace(step, detail=_describe_statement(statement)) if statement else step)
    if statement:
        record_statement(health_system, statement)
    tools, step = _tools_step(health_system, config, jwks_url, token_failed=not steps[1].ok)
    steps.append(step)
    if statement:
        steps.append(_writes_step(ServerFacts.parse(statement), granted if smart_auth.requires_token(config) else None))
    report = CheckReport(steps, [str(gap) for gap in scopes.coverage_gaps(granted or config.scopes)], tools)
    _remember(health_system, report, granted)
    return report


def _remember(health_system: HealthSystem, report: CheckReport, granted: tuple[str, ...] | None) -> None:
    """Keep the result for the go-live checklist; a cache outage loses only that note, not the test."""
    results = [last_check.ToolResult(t.tool, t.core_works, t.outcome) for t in report.tools]
    try:
        last_check.store(
            health_system.pk,
            summary=report.summary,
            ok=report.ok,
            tools=results,
            granted=list(granted) if granted is not None else None,
            problems=[f"{step.name}: {step.diagnosis}" for step in report.steps if not step.ok and not step.skipped],
        )
    except (shared_cache.CacheUnavailable, EHRUnavailable):
        pass


def record_statement(health_system: HealthSystem, statement: dict) -> None:
    """Keep what the CapabilityStatement advertises on the connection (a save: the cached site inputs go)."""
    connection = EHRConnection.objects.get(health_system_id=health_system.pk)
    connection.server_capabilities = ServerFacts.parse(statement).to_json()
    connection.capabilities_checked_at = timezone.now()
    connection.save(update_fields=["server_capabilities", "capabilities_checked_at"])


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


def _token_step(config: ConnectionConfig, jwks_url: str) -> tuple[tuple[str, ...] | None, Step]:
    if not smart_auth.requires_token(config):
        return None, Step("Token", True, 0.0, detail="auth method none: no token used (loopback sandbox)")
    entry, step = _timed("Token", config, jwks_url, lambda d: _fresh_token(config, deadline=d))
    if entry is None:
        return None, step
    signed = f", assertion signed with {entry.kid}" if entry.kid else ""
    lifetime = int(entry.expires_at - entry.fetched_at)
    detail = f"token granted for {lifetime} s{signed}; scopes granted: {entry.scope or '(not stated)'}"
    return tuple(entry.scope.split()), dataclasses.replace(step, detail=detail)


async def _fresh_token(config: ConnectionConfig, *, deadline: float) -> token_cache.CachedToken:
    """A token fetched now through the token cache (replacing the cached one, as after a 401)."""
    try:
        cached = await token_cache.peek(config)
    except shared_cache.CacheUnavailable:
        cached = None
    await token_cache.replacement_token(config, rejected=cached.access_token if cached else "", deadline=deadline)
    return await token_cache.current(config, deadline=deadline)


def _tools_step(
    health_system: HealthSystem, config: ConnectionConfig, jwks_url: str, *, token_failed: bool
) -> tuple[list[ToolOutcome], Step]:
    """Every tool's planned queries, probed at once through the client the calls use."""
    if token_failed:
        return [], Step("Tools", False, 0.0, diagnosis="Skipped: no token.", skipped=True)
    policy = VerificationPolicy.objects.filter(health_system_id=health_system.pk).first()
    factor_sets = policy.factor_sets if policy else []
    name_parts = list(policy.name_parts_required or []) if policy else []
    client = FhirClient(config, site_inputs(health_system))
    mapping = load_mapping(health_system)
    started = time.monotonic()
    deadline = io_loop.deadline_in(config.request_deadline_s)
    probes = probe_tools(client, mapping, factor_sets=factor_sets, name_parts=name_parts, deadline=deadline)
    try:
        tools = io_loop.wait(probes, deadline=deadline + PROBES_GRACE_S)
    except EHRError as exc:
        return [], Step("Tools", False, _ms(started), diagnosis=diagnose(exc, config, jwks_url))
    working = [t for t in tools if t.core_works]
    detail = f"{len(working)} of {len(tools)} tools work" + (
        f", {len([t for t in working if t.outcome != 'works'])} with fallbacks" if working else ""
    )
    if len(working) == len(tools):
        return tools, Step("Tools", True, _ms(started), detail=detail)
    failing = ", ".join(f"{t.tool}: {t.outcome}" for t in tools if not t.core_works)
    return tools, Step("Tools", False, _ms(started), detail=detail, diagnosis=f"{detail}. {failing}.")


def _writes_step(facts: ServerFacts, granted: tuple[str, ...] | None) -> Step:
    """Where each write tool's writes go, from the statement just read and the grant: nothing is written.

    A test write would put a resource in a real EHR, so none is made; the route says what was claimed.
    """
    rows = write_routes.route_rows(facts, granted)
    detail = "; ".join(f"{tool}: {route} ({why})" for tool, route, why in rows)
    return Step("Writes", True, 0.0, detail=detail + ". No test write is made.")


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
