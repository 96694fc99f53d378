"""Moving an appointment to an offered slot (`POST /api/v1/calls/{call_id}/appointments/{id}/reschedule`,
issue 22), in two steps. The new time is booked before the old one is cancelled: a slot taken
meanwhile answers `conflict` (the old appointment untouched); when the cancel fails after the new
booking, the caller keeps the new time, the scheduling staff get a follow-up to cancel the old one,
and `say` says exactly that, so the caller is never silently left with two appointments or none.
"""

import time
from collections.abc import Mapping

from calls.models import CallSession
from calls.outcomes import Confirm, Data, Refused, Result
from calls.session.access_log import AuditContext
from calls.tools import appointment_booking as booking
from calls.tools import appointment_cancellation as cancellation
from calls.tools import confirmations, slot_offers, write_steps
from calls.tools import scheduling_calls as sc
from ehr_integrations.fhir.client import connection_config

TOOL = "reschedule-appointment"


def submit(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Result:
    """One reschedule turn: read back (confirm false) or book the new time, then cancel the old (confirm true)."""
    patient_id = sc.verified_patient(call, context)
    request = {"appointment_id": str(values["appointment_id"]), "offer_id": str(values["offer_id"])}
    request_hash = confirmations.fingerprint(TOOL, request)
    old = cancellation.resolve(call, request["appointment_id"])
    if isinstance(old, Refused):
        return old
    rules = sc.site_rules(call)
    old_when = cancellation.described(call, old)
    if not values.get("confirm"):
        offer = booking.check_offer(call, rules, request["offer_id"])
        if isinstance(offer, Refused):
            return offer
        if taken := booking.hold(call, context, patient_id, offer):
            return taken
        offer = {**offer, "held_at": time.time()}
        new_when = slot_offers.spoken_offer(call, offer)
        plan = {"offer": offer, "old": old}
        confirmation_id = confirmations.issue(call_id=str(call.id), request_hash=request_hash, plan=plan)
        data = {"id": request["appointment_id"], "to": slot_offers.shape(call, request["offer_id"], offer)}
        say = f"I'll move your appointment {old_when} to {new_when}. Shall I move it?"
        return Confirm(say=say, confirmation_id=confirmation_id, expires_in_s=confirmations.LIFETIME_S, data=data)
    plan = write_steps.confirmed_plan(call, TOOL, request, values) or {}
    if isinstance(checked := booking.still_bookable(call, rules, plan["offer"]), Refused):
        return checked
    if refused := booking.over_limit(call, patient_id, plan["offer"]):
        return refused
    # Moves of one appointment take turns, and each first checks that this call has not moved or cancelled
    # it already: a second (stale) yes must not book another time for it.
    budget = connection_config(call.health_system).request_deadline_s
    with write_steps.taking_turns(f"move:{call.id}:{plan['old']}", budget_s=budget):
        if sc.was_changed(call, str(plan["old"])):
            return Refused(reason="already_changed", say=booking.ALREADY_CHANGED_SAY)
        return _move(call, context, patient_id, request, plan, old_when)


def _move(
    call: CallSession, context: AuditContext, patient_id: str, request: dict, plan: dict, old_when: str
) -> Result:
    try:
        outcome = booking.attempt(call, context, patient_id, plan["offer"])
    except booking.AlreadyChanged:
        return Refused(reason="already_changed", say=booking.ALREADY_CHANGED_SAY)
    if outcome.booked is None:
        return booking.conflict(call, outcome.fresh)
    if outcome.booked.appointment_id == str(plan["old"]):  # the new time is the one it already has
        say = f"Your appointment is already {slot_offers.spoken_offer(call, plan['offer'])}; nothing changed."
        return Data(data=booking.shape(call, outcome.booked, plan["offer"]), source="live", say=say)
    sc.mark_changed(call, str(plan["old"]))  # booked anew: the old one is cancelled now, or by staff
    new_when = slot_offers.spoken_offer(call, plan["offer"])
    data = booking.shape(call, outcome.booked, plan["offer"]) | {"replaces": request["appointment_id"]}
    http = 201 if outcome.booked.created else 200
    if not cancellation.cancel_once(call, context, patient_id, str(plan["old"])):
        say = (
            f"You're booked {new_when}. I couldn't cancel your earlier appointment {old_when}, so our scheduling"
            " staff will cancel it for you."
        )
        return Data(data=data | {"old_status": "cancel_pending"}, source="live", say=say, http=http)
    sc.refresh_appointments(call, patient_id)
    say = f"Your appointment is moved to {new_when}. The one {old_when} is cancelled."
    return Data(data=data | {"old_status": "cancelled"}, source="live", say=say, http=http)
