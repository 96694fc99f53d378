"""Verification attempt limits shared by every process (cache counters; keys carry no PHI).

Per call attempts live on the CallSession row (`failed_attempts`: each turn that asks the EHR is
counted before it does, and a success resets the count); per patient counters live in the cache under
keyed hashes, so no EHR id appears in a cache key. The budgets on claimed identities, caller numbers
and agent clients are in claims.py.
"""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache

from calls.models import CallSession
from calls.session import cache_batch
from calls.session.row_updates import update_rows
from ehr_integrations.models import VerificationPolicy
from ehr_integrations.transport.shared_cache import incr_or_create, single_redis

HOUR = 3600
# KEYS: per patient its failure counter and its lock. ARGV: the window, the limit, the lockout (s).
_RECORD_FAILURES = """
for i = 1, #KEYS, 2 do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  if count >= tonumber(ARGV[2]) then redis.call('SET', KEYS[i + 1], 1, 'EX', ARGV[3]) end
end
return 0
"""


def _digest(kind: str, value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def call_failures(call: CallSession) -> int:
    return CallSession.objects.filter(pk=call.pk).values_list("failed_attempts", flat=True).first() or 0


def reserve_attempt(call: CallSession, policy: VerificationPolicy) -> bool:
    """Count this turn against the call's limit before the EHR is asked; False when none is left.

    Counting first means concurrent turns on one call cannot make more guesses than the limit
    allows: the count is taken atomically, and a turn that finds none left is never searched.
    """
    limit = max(1, policy.max_failures_per_call)  # a limit of 0 still allows the one guess that fails
    taken = update_rows(
        CallSession, where=[("id", "=", call.pk), ("failed_attempts", "<", limit)], add={"failed_attempts": 1}
    )
    return bool(taken)  # the turn's verdict reads the count afresh (`call_failures`)


def give_back_attempt(call: CallSession) -> None:
    """The EHR gave no verdict (it was unavailable): the turn does not count."""
    update_rows(CallSession, where=[("id", "=", call.pk), ("failed_attempts", ">", 0)], add={"failed_attempts": -1})


def _patient_key(health_system_id: int, patient_id: str) -> str:
    return _digest("patient", f"{health_system_id}/{patient_id}")


def lock_key(policy: VerificationPolicy, patient_id: str) -> str:
    """The cache key present while the patient is locked out (claims.give_back checks it)."""
    return f"vlimit:lock:{_patient_key(policy.health_system_id, patient_id)}"


def failures_key(policy: VerificationPolicy, patient_id: str) -> str:
    """The cache key counting the patient's recent failures (deleted, forgiven, by a success)."""
    return f"vlimit:patient:{_patient_key(policy.health_system_id, patient_id)}"


def record_patient_failures(policy: VerificationPolicy, patient_ids: list[str]) -> None:
    """Failures on claims that matched these patients' records (turns.py decides which count).

    On Redis one round trip whether none, one or two patients are counted: a failed turn must take
    the same time whether its claims named a patient (issue 18; with speculation, issue 24, the EHR's
    time no longer hides the difference)."""
    if single_redis():
        keys = [key for p in patient_ids for key in (failures_key(policy, p), lock_key(policy, p))]
        args = [
            policy.patient_window_minutes * 60,
            policy.max_failures_per_patient,
            policy.patient_lockout_minutes * 60,
        ]
        cache_batch.script(_RECORD_FAILURES)(keys=cache_batch.redis_keys(*keys), args=args)
        return
    for patient_id in patient_ids:
        count = incr_or_create(failures_key(policy, patient_id), policy.patient_window_minutes * 60)
        if count >= policy.max_failures_per_patient:
            cache.set(lock_key(policy, patient_id), 1, timeout=policy.patient_lockout_minutes * 60)
