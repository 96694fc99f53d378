"""What the scheduling tools share (issue 22): the verified caller, the site's rules, call-scoped handles,
the call's offers and bookings in its session store, the scheduling transfer, audit and spoken times.

Handles: an offer, a provider and an appointment are named to the agent by opaque ids that mean
something only within this call (a keyed hash with the call id), never by the EHR's ids.
"""

from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import CallSession
from calls.outcomes import Escalate, Transfer
from calls.session import session_store
from calls.session.access_log import AuditContext
from calls.session.transfers import transfer_for
from calls.tools import answers, handles, write_steps
from calls.tools.tool_specs import FetchArgs
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import FhirClient, connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.models import EHRConnection, Purpose, SchedulingRules
from ehr_integrations.normalize.spoken_time import spoken_moment
from ehr_integrations.presets.scheduling_rules import Rules, parse
from ehr_integrations.scheduling import operations
from ehr_integrations.scheduling.routes import SchedulingRoute, route_for
from ehr_integrations.transport import io_loop

OFFERS = "slot-offers"  # handle -> offer plan, for this call
BOOKED = "bookings"  # appointment handle -> EHR appointment id, for what this call booked
MAX_OFFERS = 30
AUDIT = write_steps.Audited(reads=("Slot",), writes=("Appointment",), category="appointments", refused=("Appointment",))
T = TypeVar("T")
TRANSFER_SAY = "I can't book that by phone, but our scheduling team can. Let me connect you with scheduling."
NOT_HERE_SAY = "I'm not able to book appointments by phone here. Let me connect you with scheduling."


def verified_patient(call: CallSession, context: AuditContext) -> str:
    """The verified caller's patient id; raises CallEnded, Escalate or NotVerified (audited as denied)."""
    return write_steps.verified_patient(call, context, denied=AUDIT)


def site_rules(call: CallSession) -> Rules:
    row = SchedulingRules.objects.filter(health_system_id=call.health_system_id).values_list("rules", flat=True).first()
    return parse(row or {})


def scheduling_transfer(call: CallSession) -> Transfer:
    return transfer_for(health_system=call.health_system, purpose=Purpose.SCHEDULING)


def to_scheduling(call: CallSession, say: str = TRANSFER_SAY) -> Escalate:
    """The refusal that hands the caller to the scheduling desk (the EHR is not asked)."""
    return Escalate(transfer=scheduling_transfer(call), say=say, http=200)


def handle(call: CallSession, kind: str, value: str) -> str:
    """A call-scoped opaque name for an EHR thing (`kind`: of, pv, ap; calls/tools/handles.py)."""
    return handles.handle(str(call.id), kind, value)


def a(label: str) -> str:
    """ "follow-up visit" -> "a follow-up visit"; "annual physical" -> "an annual physical"."""
    return ("an " if label[:1].lower() in "aeiou" else "a ") + label


def zone(call: CallSession) -> ZoneInfo:
    return ZoneInfo(call.health_system.time_zone)


def when(call: CallSession, start: datetime) -> str:
    """ "tomorrow at 9 AM", in the health system's time zone."""
    tz = zone(call)
    return spoken_moment(start.astimezone(tz), timezone.now().astimezone(tz))


def run(call: CallSession, work: Coroutine[object, object, T], *, settle: bool = False) -> T:
    """Run EHR work for this call on the I/O loop within its request deadline (twice that for a write
    that may need settling by a search and a compensating cancel)."""
    seconds = connection_config(call.health_system).request_deadline_s
    deadline = deadline_in(seconds)
    return io_loop.result(io_loop.spawn(work), deadline=deadline + (2 * seconds if settle else 0))


@dataclass(frozen=True)
class Site:
    """What EHR work for one scheduling turn needs, read in the calling thread (no database on the loop)."""

    client: FhirClient
    stu3_base_url: str  # the connection's scheduling STU3 base ("" for none)
    deadline: float

    async def route(self) -> SchedulingRoute:
        return await route_for(self.client, deadline=self.deadline, stu3_base_url=self.stu3_base_url)

    @property
    def stu3(self) -> FhirClient:
        return operations.stu3_client(self.client, self.stu3_base_url)


def site(call: CallSession) -> Site:
    stu3 = (
        EHRConnection.objects.filter(health_system_id=call.health_system_id)
        .values_list("scheduling_stu3_base_url", flat=True)
        .first()
    )
    deadline = deadline_in(connection_config(call.health_system).request_deadline_s)
    return Site(client_for(call.health_system), stu3 or "", deadline)


def stored(call: CallSession, name: str) -> dict:
    found = session_store.get(str(call.id), name)
    return dict(found[0]) if found and isinstance(found[0], dict) else {}


def remember(call: CallSession, name: str, values: dict) -> None:
    merged = stored(call, name) | values
    session_store.put(str(call.id), name, dict(list(merged.items())[-MAX_OFFERS:]))


def mark_changed(call: CallSession, appointment_id: str) -> None:
    """This call moved or cancelled the appointment (or asked staff to): a later yes about it changes nothing."""
    remember(call, BOOKED, {f"changed:{appointment_id}": appointment_id})


def was_changed(call: CallSession, appointment_id: str) -> bool:
    return f"changed:{appointment_id}" in stored(call, BOOKED)


def appointment_ehr_id(call: CallSession, appointment_handle: str) -> str | None:
    """The EHR id behind a handle this call was given (its bookings, or its appointments answer)."""
    booked = stored(call, BOOKED)
    if appointment_handle in booked:
        return str(booked[appointment_handle])
    listed = session_store.get(str(call.id), "appointments")
    for item in (listed[0] if listed else None) or []:
        if isinstance(item, dict) and item.get("id") and handle(call, "ap", str(item["id"])) == appointment_handle:
            return str(item["id"])
    return None


def refresh_appointments(call: CallSession, patient_id: str) -> None:
    """The call's prefetched upcoming appointments read again after a write (left empty if that fails,
    so the next answer is live)."""
    args = FetchArgs(patient_id=patient_id, tz=zone(call), now=timezone.now())
    try:
        future, deadline = answers.start_fetch(call, "appointments", args)
        data = io_loop.result(future, deadline=deadline)
    except (EHRError, TimeoutError):
        data = None
    session_store.put(str(call.id), "appointments", data)
