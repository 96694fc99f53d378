"""Cancelling an appointment (`POST /api/v1/calls/{call_id}/appointments/{id}/cancel`, issue 22), in two
steps: `confirm: false` reads it back, `confirm: true` with the confirmation id cancels it once (a
JSON Patch of its status, read back). `{id}` is the call-scoped handle the gateway gave for it.
A cancel that cannot be confirmed goes to the scheduling staff, and `say` says so.
"""

from collections.abc import Mapping
from datetime import datetime

from calls.models import CallSession
from calls.outcomes import Confirm, Data, Refused, Result, Unavailable
from calls.session import session_store
from calls.session.access_log import AuditContext
from calls.tools import confirmations, write_steps
from calls.tools import scheduling_calls as sc
from calls.tools.appointment_booking import queue
from ehr_integrations.errors import EHRError
from ehr_integrations.scheduling.bookings import WriteInDoubt, cancel

TOOL = "cancel-appointment"
UNKNOWN_SAY = "I couldn't find that appointment among yours, so I haven't changed anything."
IN_DOUBT_SAY = (
    "I couldn't confirm that your appointment {when} was cancelled, so please don't count on it yet. Our"
    " scheduling staff will follow up to cancel it."
)


def described(call: CallSession, appointment_id: str) -> str:
    """ "tomorrow at 9 AM with Dr. Anita Patel at Main Street Clinic", from the call's appointments."""
    listed = session_store.get(str(call.id), "appointments")
    for item in (listed[0] if listed else None) or []:
        if isinstance(item, dict) and item.get("id") == appointment_id and item.get("datetime"):
            words = sc.when(call, datetime.fromisoformat(str(item["datetime"])))
            return words + (f" with {item['provider_name']}" if item.get("provider_name") else "")
    return "you asked about"


def resolve(call: CallSession, appointment_handle: str) -> str | Refused:
    ehr_id = sc.appointment_ehr_id(call, appointment_handle)
    return ehr_id if ehr_id else Refused(reason="unknown_appointment", say=UNKNOWN_SAY)


def cancel_once(call: CallSession, context: AuditContext, patient_id: str, appointment_id: str) -> bool:
    """Cancel it in the EHR, audited as a write; False (a staff follow-up opened) when not confirmed."""
    reference = f"Appointment/{appointment_id}"
    sc.AUDIT.record(call, context, patient_id, action="update", outcome="write_requested", ids=[reference])

    site = sc.site(call)

    async def work() -> bool:
        if not (await site.route()).cancels:
            return False
        await cancel(site.client, appointment_id, deadline=site.deadline)
        return True

    try:
        if not sc.run(call, work(), settle=True):
            raise WriteInDoubt("no_scheduling_route")
    except (WriteInDoubt, EHRError, TimeoutError) as failed:
        sc.AUDIT.record(call, context, patient_id, action="update", outcome="write_failed", ids=[reference])
        identifier = write_steps.business_identifier(call, "cancel", appointment_id)
        queue(call, identifier, patient_id, "cancel", reference, failed)
        return False
    sc.AUDIT.record(call, context, patient_id, action="update", outcome="write_confirmed", ids=[reference])
    return True


def submit(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Result:
    """One cancel turn: read back (confirm false) or cancel once (confirm true)."""
    patient_id = sc.verified_patient(call, context)
    request = {"appointment_id": str(values["appointment_id"])}
    request_hash = confirmations.fingerprint(TOOL, request)
    found = resolve(call, request["appointment_id"])
    if isinstance(found, Refused):
        return found
    when = described(call, found)
    if not values.get("confirm"):
        site = sc.site(call)
        if not sc.run(call, site.route()).cancels:  # this server takes no cancel from the gateway
            raise sc.to_scheduling(call)
        confirmation_id = confirmations.issue(call_id=str(call.id), request_hash=request_hash, plan={"id": found})
        return Confirm(say=f"I'll cancel your appointment {when}. Shall I cancel it?", confirmation_id=confirmation_id,
                       expires_in_s=confirmations.LIFETIME_S, data={"id": request["appointment_id"]})  # fmt: skip
    plan = write_steps.confirmed_plan(call, TOOL, request, values) or {}
    cancelled = cancel_once(call, context, patient_id, str(plan["id"]))
    sc.mark_changed(call, str(plan["id"]))  # cancelled, or left to staff to cancel
    if not cancelled:
        raise Unavailable(reason="write_unconfirmed", transfer=sc.scheduling_transfer(call),
                          say=IN_DOUBT_SAY.format(when=when))  # fmt: skip
    sc.refresh_appointments(call, patient_id)
    data = {"id": request["appointment_id"], "status": "cancelled"}
    return Data(data=data, source="live", say=f"Your appointment {when} is cancelled.")
