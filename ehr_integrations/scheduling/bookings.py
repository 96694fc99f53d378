"""Booking and cancelling on the slot-search path (issue 22, Safety), exactly once, read back.

Book: an Appointment carrying the gateway's business identifier is looked for first (a retried confirm
finds the first booking); the Slot is read (busy: SlotTaken); the Appointment is POSTed (with
If-None-Exist where advertised); a timeout or 5xx is settled by searching the identifier again. The
booking is read back and must show what was asked (booked, that slot, that start, that patient);
else WriteInDoubt, and nobody says "booked". The server offers no hold, so the slot's bookings are
then searched: when another booking holds it too, the earlier one keeps it, and ours is cancelled
(SlotTaken) so the caller is never left with two. Cancel: a JSON Patch of status, read back.
"""

from dataclasses import dataclass
from datetime import datetime

from ehr_integrations.errors import EHRError, EHRUnavailable
from ehr_integrations.fhir.client import FhirClient, deadline_in
from ehr_integrations.fhir.write_resources import carries, identifier, validated
from ehr_integrations.fhir.writes import WriteInDoubt, find_written, post_once

IDENTIFIER_SYSTEM = "urn:voice-ehr-gateway:booking"
CANCEL = [{"op": "replace", "path": "/status", "value": "cancelled"}]
INACTIVE = ("cancelled", "noshow", "entered-in-error")

__all__ = ["Booked", "Booking", "SlotTaken", "WriteInDoubt", "book", "cancel"]


class SlotTaken(EHRError):
    """Someone else holds the slot: nothing of ours is booked in it."""

    def __init__(self) -> None:
        super().__init__("slot_taken")


@dataclass(frozen=True)
class Booking:
    identifier: str  # the gateway's, the same on every retry of one confirm
    patient_id: str
    slot_id: str
    start: datetime
    practitioner_id: str
    service_code: str
    service_system: str | None
    label: str
    identifier_system: str = IDENTIFIER_SYSTEM

    def build(self, resource_type: str = "Appointment") -> dict:
        """The Appointment as JSON, validated by the R4 model (write_resources.py); raises InvalidResource."""
        coding = {"code": self.service_code} | ({"system": self.service_system} if self.service_system else {})
        return validated(
            {
                "resourceType": "Appointment",
                "status": "booked",
                "identifier": identifier(self),
                "serviceType": [{"coding": [coding], "text": self.label}],
                "slot": [{"reference": f"Slot/{self.slot_id}"}],
                "start": self.start.isoformat(),
                "participant": [
                    {"actor": {"reference": f"Patient/{self.patient_id}"}, "status": "accepted"},
                    {"actor": {"reference": f"Practitioner/{self.practitioner_id}"}, "status": "accepted"},
                ],
            }
        )

    def is_ours(self, resource: dict, resource_type: str = "Appointment") -> bool:
        """Whether the EHR's resource is this booking, as asked: booked, that slot, start and patient."""
        return carries(resource, self, resource_type) and _shows(resource, self)


@dataclass(frozen=True)
class Booked:
    appointment_id: str
    resource: dict  # as read back
    created: bool  # False: an earlier try of the same confirm had booked it


def _same_clinician(actors: list[str], booking: Booking) -> bool:
    """A read-back that names a Practitioner names the one booked; one naming none (Oracle Health gives
    only a display) cannot contradict it."""
    named = [a for a in actors if a.startswith("Practitioner/")]
    return not named or f"Practitioner/{booking.practitioner_id}" in named


def _shows(resource: dict, booking: Booking) -> bool:
    """Whether the read-back shows the booking asked for: booked, in that slot, at that start, for that patient."""
    slots = [str((s or {}).get("reference", "")) for s in resource.get("slot") or []]
    actors = [str(((p or {}).get("actor") or {}).get("reference", "")) for p in resource.get("participant") or []]
    start = resource.get("start")
    try:
        same_start = start is not None and datetime.fromisoformat(str(start).replace("Z", "+00:00")) == booking.start
    except ValueError:
        same_start = False
    return (
        resource.get("status") == "booked"
        and f"Slot/{booking.slot_id}" in slots
        and f"Patient/{booking.patient_id}" in actors
        and _same_clinician(actors, booking)
        and same_start
    )


def _sort_key(resource: dict) -> tuple[str, str]:
    return (str((resource.get("meta") or {}).get("lastUpdated", "")), str(resource.get("id", "")))


async def _keep_or_yield(client: FhirClient, booking: Booking, mine: dict, *, deadline: float) -> None:
    """No hold on this server: another booking in the slot means the earlier one keeps it."""
    found = await client.search("Appointment", {"slot": f"Slot/{booking.slot_id}"}, deadline=deadline, max_pages=1)
    holders = [r for r in found.resources if r.get("status") not in INACTIVE]
    if len(holders) <= 1 or min(holders, key=_sort_key).get("id") == mine.get("id"):
        return
    await cancel(client, str(mine["id"]), deadline=deadline)
    raise SlotTaken()


async def book(client: FhirClient, booking: Booking, *, conditional: bool, deadline: float) -> Booked:
    """The booking made once and read back; raises SlotTaken, WriteInDoubt or EHRError (nothing booked)."""
    earlier = await find_written(client, booking, "Appointment", deadline=deadline)  # a retried confirm's
    if earlier is not None:
        return Booked(earlier.id, earlier.resource, False)
    slot = await client.read("Slot", booking.slot_id, deadline=deadline)
    if slot.get("status") != "free":
        raise SlotTaken()
    written = await post_once(
        client, booking, "Appointment", conditional=conditional, deadline=deadline, conflict=SlotTaken
    )
    settle = max(deadline, deadline_in(client.config.request_deadline_s))
    await _keep_or_yield(client, booking, written.resource, deadline=settle)
    return Booked(written.id, written.resource, written.created)


async def cancel(client: FhirClient, appointment_id: str, *, deadline: float) -> dict:
    """The appointment cancelled and read back as cancelled; raises WriteInDoubt or EHRError."""
    try:
        await client.patch("Appointment", appointment_id, CANCEL, deadline=deadline)
    except EHRUnavailable:
        pass  # settled by the read-back below
    try:
        stored = await client.read("Appointment", appointment_id, deadline=deadline)
    except EHRError:
        raise WriteInDoubt("read_back_failed") from None
    if stored.get("status") != "cancelled":
        raise WriteInDoubt("not_cancelled")
    return stored
