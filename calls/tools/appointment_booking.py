"""Booking an offered slot (`POST /api/v1/calls/{call_id}/appointments`, issue 22), in two steps as refill
requests are: `confirm: false` reads the offer back and answers `confirm` with a confirmation id;
`confirm: true` with it books once (ehr_integrations/scheduling/bookings.py). Audited as a write
(requested, then confirmed or failed); `say` says "booked" only after the read-back shows it. A slot
taken meanwhile answers `conflict` with fresh offers; a booking in doubt goes to staff.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from calls.models import CallSession
from calls.outcomes import Confirm, Conflict, Data, Refused, Result, Unavailable
from calls.session.access_log import AuditContext
from calls.tools import confirmations, slot_offers, write_steps
from calls.tools import scheduling_calls as sc
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import connection_config
from ehr_integrations.presets.scheduling_rules import Rules
from ehr_integrations.scheduling import operations
from ehr_integrations.scheduling.bookings import Booked, Booking, SlotTaken, WriteInDoubt, book
from ehr_integrations.scheduling.routes import OPERATIONS

TOOL = "book-appointment"
UNKNOWN_OFFER_SAY = "I don't have that time to offer anymore. Let me look for open times again."
HOLD_LIMIT_SAY = "I can't hold any more times on this call. Our scheduling team can help with the rest."
ALREADY_CHANGED_SAY = "That appointment was already moved or cancelled, so I haven't changed anything."
TOO_SOON_SAY = "That time is too soon to book by phone now. Let me look for other times."
IN_DOUBT_SAY = (
    "I couldn't confirm that the appointment was booked, so please don't count on it yet. Our scheduling"
    " staff will follow up to make sure it's set."
)


class AlreadyChanged(Exception):
    """The confirm's booking was made, then cancelled or moved by this call: a retry books nothing."""


@dataclass(frozen=True)
class Outcome:
    """A booking attempt: booked and read back, or taken (with fresh offers)."""

    booked: Booked | None
    fresh: list[dict]


def _offer(call: CallSession, offer_id: str) -> dict | None:
    return sc.stored(call, sc.OFFERS).get(offer_id)


def check_offer(call: CallSession, rules: Rules, offer_id: str) -> dict | Refused:
    """The plan behind an offer handle of this call still bookable under the rules, or why not."""
    plan = _offer(call, offer_id)
    if plan is None:
        return Refused(reason="unknown_offer", say=UNKNOWN_OFFER_SAY)
    return still_bookable(call, rules, plan)


def still_bookable(call: CallSession, rules: Rules, plan: dict) -> dict | Refused:
    """The plan if the site's rules allow it now: checked at the read-back and again at the caller's yes,
    so rules tightened in between hold (raises Escalate to scheduling for a visit type or provider no
    longer booked by phone)."""
    visit_type = rules.visit_types.get(str(plan["visit_type"]))
    if visit_type is None or not rules.bookable(visit_type):
        raise sc.to_scheduling(call)
    if str(plan["practitioner"]) not in {p.practitioner for p in rules.providers_for(visit_type)}:
        raise sc.to_scheduling(call)
    if datetime.fromisoformat(str(plan["start"])) < timezone.now() + rules.lead_time:
        return Refused(reason="too_soon", say=TOO_SOON_SAY)
    return plan


def read_back(call: CallSession, plan: Mapping[str, object], rules: Rules) -> str:
    label = rules.visit_types[str(plan["visit_type"])].label
    return f"I'll book {sc.a(label)} {slot_offers.spoken_offer(call, plan)}. Shall I book it?"


def booking_for(call: CallSession, patient_id: str, plan: Mapping[str, object], rules: Rules) -> Booking:
    visit_type = rules.visit_types[str(plan["visit_type"])]
    return Booking(
        # One per read-back (its held_at): its retries share it; a new read-back after a cancel books anew.
        identifier=write_steps.business_identifier(call, patient_id, str(plan["slot"]), str(plan.get("held_at", ""))),
        patient_id=patient_id,
        slot_id=str(plan["slot"]),
        start=datetime.fromisoformat(str(plan["start"])),
        practitioner_id=str(plan["practitioner"]),
        service_code=visit_type.code,
        service_system=visit_type.system,
        label=visit_type.label,
    )


def over_limit(call: CallSession, patient_id: str, plan: Mapping[str, object]) -> Refused | None:
    """A new booking past the call's limit (settings.WRITES_PER_CALL, `appointments`): a caller cannot book
    out a provider's day from one call. A retried confirm of the same booking is never refused."""
    if write_steps.admitted(call, "appointments", str(plan["slot"])):  # one count per time booked
        return None
    return Refused(reason="write_limit", say=write_steps.LIMIT_SAY)


def attempt(call: CallSession, context: AuditContext, patient_id: str, plan: Mapping[str, object]) -> Outcome:
    """Book the offer once, audited as a write; raises Unavailable (in doubt: staff follow up)."""
    rules = sc.site_rules(call)
    booking = booking_for(call, patient_id, plan, rules)
    made = sc.stored(call, sc.BOOKED)
    earlier = made.get(f"booking:{booking.identifier}")
    if earlier and sc.was_changed(call, str(earlier)):  # a late retry of a yes whose booking was since cancelled
        raise AlreadyChanged()
    standing = made.get(f"slot:{booking.slot_id}")
    if not earlier and standing and not sc.was_changed(call, str(standing)):  # a new read-back of a time it holds
        return Outcome(Booked(str(standing), {}, created=False), [])
    about = [f"Slot/{booking.slot_id}"]
    sc.AUDIT.record(call, context, patient_id, action="create", outcome="write_requested", ids=about)

    site = sc.site(call)
    known = {str(ehr_id) for ehr_id in sc.stored(call, sc.BOOKED).values()}
    held_for = time.time() - float(plan.get("held_at") or 0)

    async def work() -> Booked | None:
        route = await site.route()
        if route.kind == OPERATIONS:
            return await _by_operations(site, booking, relapsed=held_for > rules.hold.total_seconds(), known=known)
        if not route.to_ehr:
            return None
        return await book(site.client, booking, conditional=route.conditional, deadline=site.deadline)

    try:
        # Confirms of one booking sent at once take turns: the later one finds the first one's booking.
        with write_steps.taking_turns(
            booking.identifier, budget_s=connection_config(call.health_system).request_deadline_s
        ):
            booked = sc.run(call, work(), settle=True)
    except SlotTaken:
        sc.AUDIT.record(call, context, patient_id, action="create", outcome="write_failed", ids=about)
        search = slot_offers.search_again(call, rules, plan)
        return Outcome(None, slot_offers.find(call, context, patient_id, search))
    except (WriteInDoubt, EHRError, TimeoutError) as failed:
        sc.AUDIT.record(call, context, patient_id, action="create", outcome="write_failed", ids=about)
        queue(call, booking.identifier, patient_id, "booking", f"Slot/{booking.slot_id}", failed)
        raise Unavailable(reason="write_unconfirmed", transfer=sc.scheduling_transfer(call), say=IN_DOUBT_SAY) from None
    if booked is None:
        sc.AUDIT.record(call, context, patient_id, action="create", outcome="write_failed", ids=about)
        raise sc.to_scheduling(call, sc.NOT_HERE_SAY)
    reference = f"Appointment/{booked.appointment_id}"
    write_steps.settle(follow_up_identifier("booking", booking.identifier))  # a doubt a retry resolved
    sc.AUDIT.record(call, context, patient_id, action="create", outcome="write_confirmed", ids=[reference, *about])
    sc.remember(call, sc.BOOKED, {
        sc.handle(call, "ap", booked.appointment_id): booked.appointment_id,
        f"booking:{booking.identifier}": booked.appointment_id,
        f"slot:{booking.slot_id}": booked.appointment_id,
    })  # fmt: skip
    sc.refresh_appointments(call, patient_id)
    return Outcome(booked, [])


async def _by_operations(site: sc.Site, booking: Booking, *, relapsed: bool, known: set[str]) -> Booked:
    """`$book` on the STU3 base, holding the time again first when the read-back's hold has lapsed."""
    if relapsed:
        await operations.hold(site.stu3, proposed_id=booking.slot_id, patient_id=booking.patient_id,
                              deadline=site.deadline)  # fmt: skip
    stored = await operations.book(site.stu3, proposed_id=booking.slot_id, patient_id=booking.patient_id,
                                   start=booking.start, deadline=site.deadline)  # fmt: skip
    return Booked(str(stored["id"]), stored, created=str(stored["id"]) not in known)  # a retry books nothing new


def hold(
    call: CallSession, context: AuditContext, patient_id: str, plan: Mapping[str, object]
) -> Conflict | Refused | None:
    """Where the server offers a hold (`$hold`), the offered time is held for the caller while they hear
    the read-back (the confirmation's five minutes); a time taken meanwhile is a conflict now. A call
    holds at most settings.WRITES_PER_CALL["holds"] times (the same time again does not count), so one
    agent cannot keep a clinic's open times from every other caller."""
    site = sc.site(call)
    try:
        if sc.run(call, site.route()).kind != OPERATIONS:
            return None
        if not write_steps.admitted(call, "holds", str(plan["slot"])):
            return Refused(reason="hold_limit", say=HOLD_LIMIT_SAY)
        sc.run(call, operations.hold(site.stu3, proposed_id=str(plan["slot"]), patient_id=patient_id,
                                     deadline=site.deadline))  # fmt: skip
    except SlotTaken:
        search = slot_offers.search_again(call, sc.site_rules(call), plan)
        return conflict(call, slot_offers.find(call, context, patient_id, search))
    except (EHRError, TimeoutError):
        raise Unavailable(
            reason="ehr_unavailable", transfer=sc.scheduling_transfer(call), say=slot_offers.UNAVAILABLE_SAY
        ) from None
    return None


def follow_up_identifier(kind: str, identifier: str) -> str:
    return f"{kind}-{identifier}"[:80]


def queue(call: CallSession, identifier: str, patient_id: str, kind: str, about: str, failed: Exception) -> None:
    """A staff follow-up for a scheduling write the gateway could not make or confirm."""
    reason = getattr(failed, "reason", type(failed).__name__)
    write_steps.queue(
        call,
        identifier=follow_up_identifier(kind, identifier),
        patient_id=patient_id,
        kind=kind,
        about=about,
        reason=f"the EHR {kind} is not confirmed: {reason}",
    )


def shape(call: CallSession, booked: Booked, plan: Mapping[str, object]) -> dict:
    offer = slot_offers.shape(call, "", plan)
    return {
        "id": sc.handle(call, "ap", booked.appointment_id),
        "datetime": offer["datetime"],
        "provider_name": offer["provider_name"],
        "location": offer["location"],
        "visit_type": offer["visit_type"],
        "status": "booked",
    }


NO_OTHER_OPENING_SAY = "That time was just taken, and I don't see another opening then. Would another day work?"


def conflict(call: CallSession, fresh: list[dict]) -> Conflict:
    offers = [slot_offers.shape(call, plan["id"], plan) for plan in fresh]
    if not fresh:
        return Conflict(reason="slot_taken", say=NO_OTHER_OPENING_SAY, data=[])
    times = slot_offers.spoken_offers(call, fresh)
    return Conflict(reason="slot_taken", say=f"That time was just taken. I also have {times}. Would one of those work?",
                    data=offers)  # fmt: skip


def submit(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Result:
    """One booking turn: read back (confirm false) or book once (confirm true)."""
    patient_id = sc.verified_patient(call, context)
    request = {"offer_id": str(values["offer_id"])}
    request_hash = confirmations.fingerprint(TOOL, request)
    rules = sc.site_rules(call)
    if not values.get("confirm"):
        plan = check_offer(call, rules, request["offer_id"])
        if isinstance(plan, Refused):
            return plan
        if taken := hold(call, context, patient_id, plan):
            return taken
        plan = {**plan, "held_at": time.time()}
        confirmation_id = confirmations.issue(call_id=str(call.id), request_hash=request_hash, plan=plan)
        data = slot_offers.shape(call, request["offer_id"], plan)
        return Confirm(say=read_back(call, plan, rules), confirmation_id=confirmation_id,
                       expires_in_s=confirmations.LIFETIME_S, data=data)  # fmt: skip
    plan = write_steps.confirmed_plan(call, TOOL, request, values) or {}
    if isinstance(checked := still_bookable(call, rules, plan), Refused):
        return checked
    if refused := over_limit(call, patient_id, plan):
        return refused
    try:
        outcome = attempt(call, context, patient_id, plan)
    except AlreadyChanged:
        return Refused(reason="already_changed", say=ALREADY_CHANGED_SAY)
    if outcome.booked is None:
        return conflict(call, outcome.fresh)
    label = rules.visit_types[str(plan["visit_type"])].label
    say = f"You're booked for {sc.a(label)} {slot_offers.spoken_offer(call, plan)}."
    return Data(data=shape(call, outcome.booked, plan), source="live", say=say,
                http=201 if outcome.booked.created else 200)  # fmt: skip
