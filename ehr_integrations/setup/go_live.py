"""The go-live checklist of a health system: what must hold before a voice agent calls it.

Six items, each "ok", "warn" or "fail" with one sentence: a current BAA covers it, its signing key is
published at the JWKS URL the EHR was given, the last Test connection passed for every tool, the
granted scopes cover every tool, no circuit breaker is open, and its verification policy is sane.
Shown on the health system's page and, as status columns, in the list. Reads only: no EHR call.
"""

import datetime
from dataclasses import dataclass
from datetime import UTC

from django.core.exceptions import ValidationError

from compliance.baa import current_agreements
from compliance.coverage import uncovered_agent_clients
from compliance.encryption import SecretUnreadable
from ehr_integrations.auth import scopes, signing_keys
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.models import AuthMethod, EHRConnection, HealthSystem, VerificationPolicy
from ehr_integrations.setup import last_check
from ehr_integrations.transport import breaker, io_loop, shared_cache

OK, WARN, FAIL = "ok", "warn", "fail"
READ_TIMEOUT_S = 2.0
BAA_EXPIRY_WARNING_DAYS = 30
UNREADABLE = (shared_cache.CacheUnavailable, EHRUnavailable, SecretUnreadable)


@dataclass(frozen=True)
class Item:
    key: str  # baa, signing_key, connection_test, scopes, breakers, policy
    label: str
    state: str  # ok, warn or fail
    detail: str
    lines: tuple[str, ...] = ()  # per-tool or per-endpoint detail


def checklist(system: HealthSystem, *, jwks_url: str, today: datetime.date) -> list[Item]:
    """Every item, in the order an engineer works through them. `jwks_url` is absolute."""
    connection = EHRConnection.objects.filter(health_system=system).first()
    test = _last_test(system)
    return [
        baa_item(system, today=today),
        signing_key_item(system, connection, jwks_url=jwks_url),
        connection_test_item(test),
        scopes_item(connection, test),
        breakers_item(system, connection),
        policy_item(system),
    ]


def _last_test(system: HealthSystem) -> last_check.LastCheck | None | Exception:
    try:
        return last_check.load(system.pk)
    except UNREADABLE as exc:
        return exc


def baa_item(system: HealthSystem, *, today: datetime.date) -> Item:
    label = "Business associate agreement"
    covering = list(current_agreements(on=today).filter(health_systems=system).select_related("business_associate"))
    if not covering:
        return Item("baa", label, FAIL, "No current, signed BAA covers this health system: calls are refused.")
    names = ", ".join(sorted({a.business_associate.name for a in covering}))
    uncovered = uncovered_agent_clients(health_system_id=system.pk, today=today)
    if uncovered:
        lines = tuple(
            f"{name}: no current BAA of its business associate covers this health system" for name in uncovered
        )
        return Item("baa", label, WARN, f"Covered by {names}; calls from {', '.join(uncovered)} are refused.", lines)
    ends = [a.expiry_date for a in covering if a.expiry_date]
    if ends and len(ends) == len(covering) and (min(ends) - today).days <= BAA_EXPIRY_WARNING_DAYS:
        return Item("baa", label, WARN, f"Covered by {names}; the last one expires {max(ends):%Y-%m-%d}.")
    return Item("baa", label, OK, f"Covered by {names}.")


def signing_key_item(system: HealthSystem, connection: EHRConnection | None, *, jwks_url: str) -> Item:
    label = "Signing key published"
    if connection is None:
        return Item("signing_key", label, FAIL, "No EHR connection yet.")
    if connection.auth_method != AuthMethod.PRIVATE_KEY_JWT:
        return Item(
            "signing_key", label, OK, f"Not needed: the connection authenticates with {connection.auth_method}."
        )
    keys = signing_keys.published_keys(system)
    if not keys:
        return Item(
            "signing_key", label, FAIL, f"No key published yet at {jwks_url}: use Rotate keys, then register it."
        )
    kids = ", ".join(k.kid for k in keys)
    return Item("signing_key", label, OK, f"Register {jwks_url} with the EHR; it publishes {kids}.")


def connection_test_item(test: last_check.LastCheck | None | Exception) -> Item:
    label = "Last Test connection"
    if isinstance(test, Exception):
        return Item("connection_test", label, WARN, f"Unknown: shared state unreadable ({type(test).__name__}).")
    if test is None:
        return Item("connection_test", label, FAIL, "Not run in the last 30 days: run Test connection.")
    when = datetime.datetime.fromtimestamp(test.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = (*test.problems, *(f"{t.tool}: {t.outcome}" for t in test.tools))
    failing = [t.tool for t in test.tools if not t.works]
    if not test.ok:
        which = f": {', '.join(failing)} do not work" if failing else ""
        return Item("connection_test", label, FAIL, f"{test.summary} on {when}{which}.", lines)
    state = WARN if test.summary != "All steps passed" else OK
    return Item("connection_test", label, state, f"{test.summary} on {when}.", lines)


def scopes_item(connection: EHRConnection | None, test: last_check.LastCheck | None | Exception) -> Item:
    label = "Scopes: granted versus needed"
    if connection is None:
        return Item("scopes", label, FAIL, "No EHR connection yet.")
    granted = test.granted if isinstance(test, last_check.LastCheck) else None
    basis = "granted at the last test" if granted is not None else "configured (none granted yet)"
    gaps = scopes.coverage_gaps(granted if granted is not None else connection.scope_list())
    needed = sorted({f"{rt}.{p}" for needs in scopes.TOOL_NEEDS.values() for rt, ps in needs.items() for p in ps})
    lines = (f"needed: {', '.join(needed)}", f"{basis}: {' '.join(granted or connection.scope_list()) or '-'}")
    if gaps:
        return Item("scopes", label, FAIL, f"{len(gaps)} gap(s) in the scopes {basis}.", (*lines, *map(str, gaps)))
    state = OK if granted is not None else WARN
    return Item("scopes", label, state, f"The scopes {basis} cover every tool.", lines)


def breakers_item(system: HealthSystem, connection: EHRConnection | None) -> Item:
    label = "Circuit breakers"
    if connection is None:
        return Item("breakers", label, OK, "No EHR connection yet: nothing called.")
    try:
        deadline = io_loop.deadline_in(READ_TIMEOUT_S)
        views, _ = io_loop.wait(breaker.snapshot(system.pk), deadline=deadline)
    except UNREADABLE as exc:
        return Item("breakers", label, WARN, f"Unknown: shared state unreadable ({type(exc).__name__}).")
    tripped = [v for v in views if v.state != breaker.CLOSED]
    if not tripped:
        return Item("breakers", label, OK, "Every endpoint closed (calls go through).")
    lines = tuple(f"{v.endpoint}: {v.state}" for v in tripped)
    return Item("breakers", label, FAIL, f"{len(tripped)} endpoint(s) not closed: calls to them fail fast.", lines)


def reset_breakers(system: HealthSystem, *, by: str) -> list[str]:
    """Close the health system's open breakers; returns the endpoints closed."""
    policy = connection_config(system).breaker
    deadline = io_loop.deadline_in(READ_TIMEOUT_S)
    return io_loop.wait(breaker.reset(system.pk, policy, by=f"reset by {by}"), deadline=deadline)


def policy_item(system: HealthSystem) -> Item:
    label = "Verification policy"
    policy = VerificationPolicy.objects.filter(health_system=system).first()
    if policy is None:
        return Item("policy", label, FAIL, "No verification policy: no caller can be verified.")
    try:
        policy.full_clean(exclude=["health_system"])
    except ValidationError as exc:
        return Item("policy", label, FAIL, "; ".join(exc.messages))
    problems = _policy_problems(policy)
    if problems:
        return Item("policy", label, FAIL, "; ".join(problems) + ".")
    sets = " or ".join(" + ".join(s) for s in policy.factor_sets)
    return Item("policy", label, OK, f"Callers verify with {sets}; {policy.max_failures_per_call} tries per call.")


def _policy_problems(policy: VerificationPolicy) -> list[str]:
    problems = []
    if not policy.max_failures_per_call:
        problems.append("0 tries per call locks every caller out at once")
    if policy.max_failures_per_caller_hour < policy.max_failures_per_call:
        problems.append("fewer tries per caller an hour than per call")
    if policy.patient_lockout_minutes < policy.patient_window_minutes:
        problems.append("a patient lockout shorter than the window it counts failures in")
    return problems
