"""Budgets on what a caller claims, reserved before the EHR is searched (issue 18).

A complete factor set's turn reserves one failure against every budget it touches: the claimed
birth date, MRN and birth date + name at this health system, the caller's number, and the agent
client. A verdict that is not a failure (verified, or no verdict: the EHR could not answer) gives
the reservations back; a failure keeps them. Each budget is one cache counter that a reservation
increments atomically, so concurrent turns can never hold more than the limit: a turn whose count
passed a limit gives back what it took and is refused before the search.

Keys are keyed hashes (HMAC with SECRET_KEY) of the health system and the claimed values: no PHI in
a key, and no use in guessing them. Defaults (settings): a claimed birth date 10 failed turns an
hour (many patients share one), an MRN 5, a birth date + name 5, a caller number the site policy's
`max_failures_per_caller_hour` (10), an agent client 200 (a throttle: its turns answer
`rate_limited` until the hour passes, never a lock). The reasoning: NIST SP 800-63B 5.2.2 caps
consecutive failures per account at 100 and asks for rate limiting on top; SP 800-63A lets a
knowledge-based check fail three times (the per-call limit). A claimed value is weaker than an
account (a birth date names many patients), so its budget is smaller. A spent identity or caller
budget sends the turn to a person (`escalate` with the verification transfer) instead of searching:
an attacker can at worst route callers sharing a birth date to staff for the hour, never lock a
patient out.
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from calls.session import cache_batch
from ehr_integrations.normalize.names import name_key
from ehr_integrations.transport.shared_cache import incr_or_create, single_redis

WINDOW_S = 3600
AGENT = "agent"
# KEYS: the budgets' counters. ARGV: the window in seconds, then each counter's limit. Takes one from
# every counter, or none: returns the 1-based index of the first that passed its limit, else 0.
_RESERVE = """
for i = 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  if count > tonumber(ARGV[i + 1]) then
    for j = 1, i do redis.call('DECR', KEYS[j]) end
    return i
  end
end
return 0
"""
# KEYS: the counters to give one back to (those that still exist: a window may have ended), then
# ARGV[1] more (0 or 2): a key whose presence stops it all, and a key deleted with it.
_GIVE_BACK = """
local budgets = #KEYS - tonumber(ARGV[1])
if budgets < #KEYS then
  if redis.call('EXISTS', KEYS[budgets + 1]) == 1 then return 0 end
  redis.call('DEL', KEYS[budgets + 2])
end
for i = 1, budgets do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


@dataclass(frozen=True)
class Budget:
    kind: str  # dob, mrn, dob_name, caller, agent (audited; never the value)
    key: str
    limit: int


@dataclass(frozen=True)
class Reservation:
    budgets: tuple[Budget, ...]


class BudgetSpent(Exception):  # noqa: N818 - a verdict, not an error
    """A budget this turn needs is used up: `kind` names which (agent: a throttle; others: escalate)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(kind)


def _digest(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def budgets(
    *,
    health_system_id: int,
    agent_client_id: int,
    caller_phone: str | None,
    given: Mapping[str, str],
    caller_limit: int,
) -> tuple[Budget, ...]:
    """The budgets a turn claiming `given` touches (the caller number's limit is the site policy's)."""
    found = []
    dob = given.get("date_of_birth")
    if dob:
        found.append(Budget("dob", _digest("dob", health_system_id, dob), settings.VERIFY_BUDGET_PER_DOB))
    if mrn := given.get("mrn"):
        mrn_key = _digest("mrn", health_system_id, mrn.strip().casefold())
        found.append(Budget("mrn", mrn_key, settings.VERIFY_BUDGET_PER_MRN))
    names = [name_key(given[k]) for k in ("family_name", "given_name") if given.get(k)]
    if dob and names:
        name_key_ = _digest("dob_name", health_system_id, dob, *names)
        found.append(Budget("dob_name", name_key_, settings.VERIFY_BUDGET_PER_DOB_NAME))
    if caller_phone:
        found.append(Budget("caller", _digest("caller", caller_phone), caller_limit))
    found.append(Budget(AGENT, _digest("agent", agent_client_id), settings.VERIFY_BUDGET_PER_AGENT))
    return tuple(found)


def _cache_key(budget: Budget) -> str:
    return f"vbudget:{budget.kind}:{budget.key}"


def spent(wanted: tuple[Budget, ...]) -> str | None:
    """The kind of the first budget already used up (no reservation taken), or None."""
    counts = cache.get_many([_cache_key(b) for b in wanted])
    for budget in wanted:
        if counts.get(_cache_key(budget), 0) >= budget.limit:
            return budget.kind
    return None


def reserve(wanted: tuple[Budget, ...]) -> Reservation:
    """Take one from every budget, or none: raises BudgetSpent naming the first that was used up.

    One round trip on Redis (a script); one by one on any other cache."""
    if single_redis():
        keys = cache_batch.redis_keys(*(_cache_key(budget) for budget in wanted))
        over = cache_batch.script(_RESERVE)(keys=keys, args=[WINDOW_S, *(budget.limit for budget in wanted)])
        if over:
            raise BudgetSpent(wanted[int(over) - 1].kind)
        return Reservation(wanted)
    taken: list[Budget] = []
    for budget in wanted:
        count = incr_or_create(_cache_key(budget), WINDOW_S)
        taken.append(budget)
        if count > budget.limit:
            give_back(Reservation(tuple(taken)))
            raise BudgetSpent(budget.kind)
    return Reservation(tuple(taken))


def give_back(reservation: Reservation, *, lockout: tuple[str, str] | None = None) -> bool:
    """The turn was no failure (verified, or the EHR gave no verdict): its reservations return; whether
    they did. `lockout` (a lock key, a failures key): in the same step, nothing returns while the lock
    key is present, and else the failures key is deleted (forgiven)."""
    guard = list(lockout or ())
    if single_redis():
        keys = cache_batch.redis_keys(*(_cache_key(budget) for budget in reservation.budgets), *guard)
        return bool(cache_batch.script(_GIVE_BACK)(keys=keys, args=[len(guard)]))
    if guard:  # any other cache: one by one
        if cache.get(guard[0]) is not None:
            return False
        cache.delete(guard[1])
    for budget in reservation.budgets:
        try:
            cache.decr(_cache_key(budget))
        except ValueError:
            pass  # the window ended meanwhile: nothing left to give back
    return True
