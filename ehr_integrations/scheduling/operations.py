"""The Argonaut scheduling operations on a site's STU3 endpoint (issue 22, Epic): `Appointment/$find` for
open times, `$hold` while the caller hears the read-back, `$book` on the yes. Epic serves them on
STU3 (`.../api/FHIR/STU3/Appointment/$find`), not on R4, so they go to the connection's scheduling
STU3 base with the same token. A booking is read back before anyone says so.
"""

import time
from dataclasses import replace
from datetime import datetime

from ehr_integrations.errors import EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.writes import WriteInDoubt
from ehr_integrations.presets.scheduling_rules import Provider, VisitType
from ehr_integrations.scheduling.bookings import INACTIVE, SlotTaken
from ehr_integrations.scheduling.free_slots import FreeSlot

OPERATIONS = ("find", "hold", "book")
STATEMENT_KEPT_S = 600
_statements: dict[tuple[int, str], tuple[bool, float]] = {}  # (health system, STU3 base) -> (listed, until)


def stu3_client(client: FhirClient, stu3_base_url: str) -> FhirClient:
    """The same connection (token, breaker, limits) aimed at the STU3 base."""
    return FhirClient(replace(client.config, fhir_base_url=stu3_base_url.rstrip("/")), client.site)


async def advertised(stu3: FhirClient, *, deadline: float) -> bool:
    """Whether the STU3 CapabilityStatement lists $find, $hold and $book on Appointment (read at most
    every STATEMENT_KEPT_S per process and base: not one more request on every scheduling turn)."""
    key = (stu3.config.health_system_id, stu3.config.fhir_base_url)
    known = _statements.get(key)
    if known is not None and known[1] > time.monotonic():
        return known[0]
    found = _lists_operations(await stu3.capability_statement(deadline=deadline))
    _statements[key] = (found, time.monotonic() + STATEMENT_KEPT_S)
    return found


def _lists_operations(statement: dict) -> bool:
    for rest in statement.get("rest") or []:
        for resource in (rest or {}).get("resource") or []:
            if (resource or {}).get("type") == "Appointment":
                names = {str((o or {}).get("name", "")).lstrip("$") for o in resource.get("operation") or []}
                return set(OPERATIONS) <= names
    return False


def _reference(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def _start(resource: dict) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(resource.get("start")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _actors(resource: dict) -> list[str]:
    return [str(((p or {}).get("actor") or {}).get("reference", "")) for p in resource.get("participant") or []]


async def find(
    stu3: FhirClient,
    providers: tuple[Provider, ...],
    visit_type: VisitType,
    *,
    patient_id: str,
    after: datetime,
    before: datetime,
    deadline: float,
) -> list[FreeSlot]:
    """Open times as proposed appointments of the allowed providers, earliest first."""
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": _reference("Patient", patient_id)},
            {"name": "startTime", "valueDateTime": after.isoformat()},
            {"name": "endTime", "valueDateTime": before.isoformat()},
            {"name": "visit-type", "valueString": visit_type.code},
        ],
    }
    bundle = await stu3.post_operation("Appointment/$find", body, deadline=deadline)
    by_practitioner = {f"Practitioner/{p.practitioner}": p for p in providers}
    found = []
    for item in bundle.get("entry") or []:
        resource = (item or {}).get("resource") or {}
        start = _start(resource)
        provider = next((by_practitioner[a] for a in _actors(resource) if a in by_practitioner), None)
        if (
            resource.get("status") == "proposed"
            and resource.get("id")
            and start
            and provider
            and after <= start < before
        ):
            found.append(FreeSlot(str(resource["id"]), start, provider))
    return sorted(found, key=lambda s: (s.start, s.provider.name, s.slot_id))


def _operation_body(proposed_id: str, patient_id: str) -> dict:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "appointment", "valueReference": _reference("Appointment", proposed_id)},
            {"name": "patient", "valueReference": _reference("Patient", patient_id)},
        ],
    }


async def hold(stu3: FhirClient, *, proposed_id: str, patient_id: str, deadline: float) -> None:
    """Hold the time for this patient while the read-back is heard; raises SlotTaken."""
    try:
        await stu3.post_operation("Appointment/$hold", _operation_body(proposed_id, patient_id), deadline=deadline)
    except EHRRequestRejected as refused:
        if refused.status == 409:
            raise SlotTaken() from None
        raise


async def book(stu3: FhirClient, *, proposed_id: str, patient_id: str, start: datetime, deadline: float) -> dict:
    """Book the held time and read it back; raises SlotTaken or WriteInDoubt."""
    try:
        booked = await stu3.post_operation(
            "Appointment/$book", _operation_body(proposed_id, patient_id), deadline=deadline
        )
    except EHRRequestRejected as refused:
        if refused.status == 409:
            raise SlotTaken() from None
        raise
    except EHRUnavailable:
        raise WriteInDoubt("unresolved") from None  # no identifier to search by: staff settle it
    if booked.get("resourceType") == "Bundle":
        booked = next((e.get("resource") or {} for e in booked.get("entry") or []), {})
    if not booked.get("id"):
        raise WriteInDoubt("no_id_returned")
    try:
        stored = await stu3.read("Appointment", str(booked["id"]), deadline=deadline)
    except EHRError:
        raise WriteInDoubt("read_back_failed") from None
    if stored.get("status") in INACTIVE or stored.get("status") != "booked" or _start(stored) != start:
        raise WriteInDoubt("read_back_mismatch")
    if f"Patient/{patient_id}" not in _actors(stored):
        raise WriteInDoubt("read_back_mismatch")
    return stored
