"""Refill requests (`POST /api/v1/calls/{call_id}/refill-requests`, issue 21): two steps, spoken.

`confirm: false` looks the medication up (refill_eligibility.py) and answers `confirm` with the
sentence to read back and a confirmation id; `confirm: true` with that id makes the write, once:
a FHIR Task or Communication (ehr_integrations/fhir/writes.py) or the gateway's staff queue, as the
site's capabilities allow. The write is audited as requested before the EHR call and confirmed or
failed after it; `say` confirms only what the EHR's answer, read back, shows.
"""

from collections.abc import Mapping

from calls.models import CallSession
from calls.outcomes import Confirm, Data, Escalate, Refused, Result, Transfer, Unavailable
from calls.session.access_log import AuditContext
from calls.session.transfers import transfer_for
from calls.tools import confirmations, write_steps
from calls.tools.refill_eligibility import CONTROLLED, EXCLUDED, INACTIVE, TOOL, UNKNOWN, Eligibility, look_up
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import connection_config, deadline_in
from ehr_integrations.fhir.refill_resources import RefillRequest
from ehr_integrations.fhir.site import client_for
from ehr_integrations.fhir.write_resources import InvalidResource
from ehr_integrations.fhir.write_routes import STAFF_QUEUE
from ehr_integrations.fhir.writes import WriteInDoubt
from ehr_integrations.models import Purpose
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.presets.write_settings import settings_from
from ehr_integrations.transport import io_loop

AUDIT = write_steps.Audited(reads=("MedicationRequest",), writes=("Task", "Communication"), category="medications")
LOOKUP_FAILED_SAY = "I'm not able to look up that medication right now. I can connect you with the pharmacy."
REFUSED_SAYS = {
    UNKNOWN: "I couldn't find that medication among your prescriptions, so I can't request a refill for it.",
    INACTIVE: "That prescription is no longer active, so I can't request a refill for it. Your care team can help.",
}


def submit(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Result:
    """One refill-request turn: validate and read back (confirm false), or write once (confirm true)."""
    patient_id = write_steps.verified_patient(call, context, denied=AUDIT)
    request = {"medication_id": str(values["medication_id"]), "note": str(values.get("note") or "")}
    plan = write_steps.confirmed_plan(call, TOOL, request, values)
    if plan is None:
        return _confirm(call, context, patient_id, request, confirmations.fingerprint(TOOL, request))
    return _write(call, context, patient_id, Eligibility(**plan), note=request["note"])


def _pharmacy(call: CallSession) -> Transfer:
    return transfer_for(health_system=call.health_system, purpose=Purpose.PHARMACY)


def _confirm(call: CallSession, context: AuditContext, patient_id: str, request: dict, request_hash: str) -> Result:
    system = call.health_system
    deadline = deadline_in(connection_config(system).request_deadline_s)
    lookup = look_up(
        client_for(system),
        load_mapping(system),
        settings_from(system.write_settings),
        patient_id=patient_id,
        medication_request_id=request["medication_id"],
        deadline=deadline,
    )
    try:
        found = io_loop.result(io_loop.spawn(lookup), deadline=deadline)
    except (EHRError, TimeoutError):
        AUDIT.record(call, context, patient_id, action="read", outcome="unavailable")
        raise Unavailable(reason="ehr_unavailable", transfer=_pharmacy(call), say=LOOKUP_FAILED_SAY) from None
    ids = [f"MedicationRequest/{found.medication_request_id}"] if found.verdict != UNKNOWN else []
    AUDIT.record(call, context, patient_id, action="read", outcome="success", ids=ids)
    if found.verdict in REFUSED_SAYS:
        return Refused(reason=found.verdict, say=REFUSED_SAYS[found.verdict])
    if found.verdict in (CONTROLLED, EXCLUDED):
        say = f"Refills of {found.spoken} need the pharmacy team. Let me connect you with the pharmacy."
        raise Escalate(transfer=_pharmacy(call), say=say, http=200)
    confirmation_id = confirmations.issue(call_id=str(call.id), request_hash=request_hash, plan=found.plan())
    data = {"medication_id": found.medication_request_id, "kind": found.verdict, "route": found.route}
    return Confirm(
        say=_read_back(found), confirmation_id=confirmation_id, expires_in_s=confirmations.LIFETIME_S, data=data
    )


def _office(found: Eligibility) -> str:
    return f"{found.prescriber_name}'s office" if found.prescriber_name else "your care team"


def _read_back(found: Eligibility) -> str:
    if found.route == STAFF_QUEUE:
        asked = "renew" if found.verdict == "renewal" else "refill"
        return f"I'll ask our staff to have {_office(found)} {asked} your {found.spoken}. Shall I do that?"
    if found.verdict == "renewal":
        return (
            f"Your {found.spoken} has no refills left, so I'll ask {_office(found)} to renew the prescription."
            " Shall I send it?"
        )
    return f"I'll ask {_office(found)} to refill your {found.spoken}. Shall I send it?"


def _write(call: CallSession, context: AuditContext, patient_id: str, found: Eligibility, *, note: str) -> Result:
    settings = settings_from(call.health_system.write_settings)
    request = RefillRequest(
        kind=found.verdict,
        patient_id=patient_id,
        medication_request_id=found.medication_request_id,
        prescriber=found.prescriber,
        owner=settings.task_owner,
        medicine=found.medicine or "",
        note=note,
        identifier=write_steps.business_identifier(call, found.medication_request_id, found.verdict),
    )
    if not write_steps.admitted(call, TOOL, request.identifier):
        return Refused(reason="write_limit", say=write_steps.LIMIT_SAY)
    if found.route == STAFF_QUEUE:
        _queue(call, request, patient_id, reason="the site's EHR accepts no refill write (staff queue route)")
        AUDIT.record(
            call, context, patient_id, action="create", outcome="success", ids=[f"StaffRequest/{request.identifier}"]
        )
        say = f"I've passed your request to our staff, who will follow up with {_office(found)}."
        return Data(data=_shape(found, "queued", None), source="live", say=say)
    about = [f"MedicationRequest/{found.medication_request_id}"]
    AUDIT.record(call, context, patient_id, action="create", outcome="write_requested", ids=about)
    try:
        written = write_steps.create(call, request, found.route, conditional=found.conditional)
    except (WriteInDoubt, EHRError, InvalidResource, TimeoutError) as failed:
        reason = getattr(failed, "reason", type(failed).__name__)
        # The follow-up first: an in-doubt write keeps it even when the audit log then refuses the record.
        _queue(call, request, patient_id, reason=f"the EHR write is not confirmed: {reason}")
        AUDIT.record(call, context, patient_id, action="create", outcome="write_failed", ids=about)
        raise Unavailable(reason="write_unconfirmed", transfer=_pharmacy(call), say=write_steps.IN_DOUBT_SAY) from None
    reference = f"{written.resource_type}/{written.id}"
    write_steps.settle(request.identifier)
    AUDIT.record(call, context, patient_id, action="create", outcome="write_confirmed", ids=[reference, *about])
    say = f"Your request was sent to {_office(found)}; {settings.turnaround}."
    return Data(data=_shape(found, "sent", reference), source="live", say=say, http=201 if written.created else 200)


def _queue(call: CallSession, request: RefillRequest, patient_id: str, *, reason: str) -> None:
    about = f"MedicationRequest/{request.medication_request_id}"
    write_steps.queue(
        call, identifier=request.identifier, patient_id=patient_id, kind=request.kind, about=about, reason=reason
    )


def _shape(found: Eligibility, state: str, reference: str | None) -> dict:
    return {
        "medication_id": found.medication_request_id,
        "kind": found.verdict,
        "route": found.route,
        "state": state,
        "reference": reference,
    }
