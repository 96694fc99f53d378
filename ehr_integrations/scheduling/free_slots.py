"""Free slots on the slot-search path (issue 22): `Slot?schedule=&status=free&start=ge&start=lt&service-type=`,
one search per allowed provider's Schedule, run together. Plain data out; the caller picks the offers."""

import asyncio
from dataclasses import dataclass
from datetime import datetime

from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.normalize.references import reference_key
from ehr_integrations.presets.scheduling_rules import Provider, VisitType

PER_PROVIDER = 10  # enough to skip the ones the rules refuse and still offer three


@dataclass(frozen=True)
class FreeSlot:
    slot_id: str
    start: datetime
    provider: Provider


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _token(visit_type: VisitType) -> str:
    return f"{visit_type.system}|{visit_type.code}" if visit_type.system else visit_type.code


def _in(slot: dict, provider: Provider) -> bool:
    """The slot belongs to the provider's Schedule (Slot.schedule is required in R4)."""
    schedule = slot.get("schedule")
    return isinstance(schedule, dict) and reference_key(schedule.get("reference")) == f"Schedule/{provider.schedule}"


def _for(slot: dict, visit_type: VisitType) -> bool:
    """A slot that states its service types offers this visit type; one that states none cannot contradict."""
    codings = [
        c for concept in slot.get("serviceType") or [] if isinstance(concept, dict)
        for c in concept.get("coding") or [] if isinstance(c, dict)
    ]  # fmt: skip
    if not codings:
        return True
    return any(
        c.get("code") == visit_type.code and (not visit_type.system or c.get("system") in (None, visit_type.system))
        for c in codings
    )


async def _of(
    client: FhirClient, provider: Provider, visit_type: VisitType, after: datetime, before: datetime, deadline: float
) -> list[FreeSlot]:
    params = {
        "schedule": f"Schedule/{provider.schedule}",
        "status": "free",
        "start": [f"ge{after.isoformat()}", f"lt{before.isoformat()}"],
        "service-type": _token(visit_type),
        "_count": str(PER_PROVIDER),
    }
    found = await client.search("Slot", params, deadline=deadline, max_pages=1)
    slots = []
    for resource in found.resources:
        start = _instant(resource.get("start"))
        if resource.get("resourceType") == "Slot" and resource.get("status") == "free" and start and resource.get("id"):
            # The server's filters are claims too: the time, the Schedule and the visit type are checked here.
            if after <= start < before and _in(resource, provider) and _for(resource, visit_type):
                slots.append(FreeSlot(str(resource["id"]), start, provider))
    return slots


async def free_slots(
    client: FhirClient,
    providers: tuple[Provider, ...],
    visit_type: VisitType,
    *,
    after: datetime,
    before: datetime,
    deadline: float,
) -> list[FreeSlot]:
    """The free slots of these providers for this visit type in [after, before), earliest first."""
    found = await asyncio.gather(*(_of(client, p, visit_type, after, before, deadline) for p in providers))
    return sorted((s for slots in found for s in slots), key=lambda s: (s.start, s.provider.name, s.slot_id))
