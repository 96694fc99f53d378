"""The steps every write tool shares (issue 21): the verified caller, the business identifier, the
write made once and read back (ehr_integrations/fhir/writes.py), and the staff queue for what the
EHR did not take or may not have. refills.py and care_messages.py differ only in what they write
and say.
"""

import contextlib
import hashlib
import hmac
import math
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from calls.models import CallSession, CallState, StaffRequest, StaffRequestStatus
from calls.outcomes import CallEnded, Escalate, InvalidInput, NotVerified
from calls.session import access_log, session_store
from calls.session.access_log import AuditContext
from calls.session.baa_gate import ensure_covered
from calls.session.transfers import ESCALATE_SAY, transfer_for
from calls.tools import confirmations
from compliance import encryption
from ehr_integrations.fhir.client import connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.fhir.write_resources import WriteRequest
from ehr_integrations.fhir.writes import WriteInDoubt, Written, create_once
from ehr_integrations.models import Purpose
from ehr_integrations.transport import io_loop

COUNT_TTL_S = 24 * 3600  # longer than any call
LOCK_POLL_S = 0.05  # how often a confirm waits for a concurrent one of the same write
LIMIT_SAY = "I can't send any more requests on this call. Our staff can help with the rest."
IN_DOUBT_SAY = (
    "I couldn't confirm that your request reached the office, so I haven't sent it as done. Our staff will"
    " follow up to make sure it's handled."
)


@dataclass(frozen=True)
class Audited:
    """What a write tool's audit records name: the types its first step reads, the types it writes,
    and the data category (refills: MedicationRequest / Task, Communication / medications)."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]
    category: str
    refused: tuple[str, ...] = ()  # what a refused (unverified) attempt names; default its reads

    def record(
        self,
        call: CallSession,
        context: AuditContext,
        patient_id: str | None,
        *,
        action: str,
        outcome: str,
        ids: list | None = None,
    ) -> None:
        """One audit record of this tool (a read of its `reads`, or a write of its `writes`)."""
        access_log.record(
            call=call,
            context=context,
            action=action,
            outcome=outcome,
            patient_reference=patient_id,
            resource_types=list(self.reads if action == "read" else self.writes),
            resource_ids=ids or [],
            data_category=self.category,
        )


def verified_patient(call: CallSession, context: AuditContext, *, denied: Audited) -> str:
    """The verified caller's EHR patient id; raises CallEnded, Escalate or NotVerified (audited as denied)."""
    if call.state == CallState.ENDED:
        raise CallEnded()
    if call.state != CallState.VERIFIED:
        types = list(denied.refused or denied.reads)
        access_log.record(call=call, context=context, action="read", outcome="denied", patient_reference=None,
                          resource_types=types, data_category=denied.category)  # fmt: skip
        if call.state == CallState.ESCALATED:
            transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
            raise Escalate(transfer=transfer, say=ESCALATE_SAY)
        raise NotVerified()
    ensure_covered(client=call.agent_client, health_system=call.health_system)
    stored = session_store.get(str(call.id), "patient")
    if stored is None:
        raise NotVerified()
    return str(stored[0]["id"])


def confirmed_plan(call: CallSession, tool: str, request: Mapping[str, object], values: Mapping) -> dict | None:
    """The plan a confirm (`confirm: true` with its confirmation id) redeems; None for a first call.

    Raises InvalidInput without the id, ConfirmationRefused for an unknown, expired or changed one.
    """
    if not values.get("confirm"):
        return None
    if not values.get("confirmation_id"):
        raise InvalidInput({"confirmation_id": "required when confirm is true"})
    return confirmations.redeem(
        call_id=str(call.id),
        confirmation_id=str(values["confirmation_id"]),
        request_hash=confirmations.fingerprint(tool, request),
    )


def business_identifier(call: CallSession, *parts: str) -> str:
    """The gateway's identifier for this call's request about `parts`: the same on every retry."""
    key = "\x00".join((str(call.id), *parts))
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()[:40]


def admitted(call: CallSession, tool: str, identifier: str) -> bool:
    """Whether this call may make this write: a retry of one it already counted always may, a new one
    while the call is under settings.WRITES_PER_CALL[tool]. Counted in the shared cache (no PHI)."""
    seen = f"write-seen:{call.id}:{tool}:{identifier}"
    if not cache.add(seen, 1, timeout=COUNT_TTL_S):
        return True
    counter = f"write-count:{call.id}:{tool}"
    cache.add(counter, 0, timeout=COUNT_TTL_S)
    if cache.incr(counter) <= settings.WRITES_PER_CALL[tool]:
        return True
    cache.delete(seen)
    return False


@contextlib.contextmanager
def taking_turns(key: str, *, budget_s: float) -> Iterator[None]:
    """Requests about the same write (or the same appointment) take turns: a shared-cache lock on `key`,
    held at most twice the request budget; raises WriteInDoubt when the turn does not come in time."""
    lock, owner = f"write-lock:{key}", uuid.uuid4().hex
    give_up = deadline_in(2 * budget_s)
    while not cache.add(lock, owner, timeout=math.ceil(2 * budget_s) + 1):  # outlives the write it guards
        if time.monotonic() > give_up:
            raise WriteInDoubt("concurrent_write")
        time.sleep(LOCK_POLL_S)
    try:
        yield
    finally:
        if cache.get(lock) == owner:
            cache.delete(lock)


def create(call: CallSession, request: WriteRequest, resource_type: str, *, conditional: bool) -> Written:
    """The write made once and read back, on the EHR I/O loop; raises WriteInDoubt, EHRError, TimeoutError.

    Confirms of the same write sent at once take turns (taking_turns on its business identifier):
    without it, each would search, find nothing and create (no conditional create), or race the EHR's
    own If-None-Exist. The later one then finds the first one's write by its identifier.
    """
    system = call.health_system
    budget = connection_config(system).request_deadline_s
    with taking_turns(request.identifier, budget_s=budget):
        # The write, and after a timeout the search that settles it, each within the request deadline.
        deadline = deadline_in(budget)
        work = create_once(client_for(system), request, resource_type, conditional=conditional, deadline=deadline)
        return io_loop.result(io_loop.spawn(work), deadline=deadline + budget)


def queue(
    call: CallSession,
    *,
    identifier: str,
    patient_id: str,
    kind: str,
    about: str,
    reason: str,
    detail: str = "",
) -> None:
    """Put the request in the gateway's staff queue, once per business identifier.

    `detail` (a message's words: PHI) is stored encrypted; `about` names an EHR resource or a topic.
    """
    StaffRequest.objects.get_or_create(
        business_identifier=identifier,
        defaults={
            "health_system": call.health_system,
            "call": call,
            "patient_reference": patient_id,
            "kind": kind,
            "about": about[:160],
            "reason": reason[:160],
            "detail_encrypted": encryption.encrypt(detail) if detail else "",
        },
    )


def settle(identifier: str) -> None:
    """A write in doubt that a retry then made and read back: its staff follow-up is closed, not done twice."""
    StaffRequest.objects.filter(business_identifier=identifier, status=StaffRequestStatus.OPEN).update(
        status=StaffRequestStatus.DONE, reason="written to the EHR and read back by a later retry"
    )
