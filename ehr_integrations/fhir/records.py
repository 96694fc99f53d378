"""Fetch a patient's records from the EHR and normalize them: coroutines for the EHR I/O loop.

No database here: the Mapping and the client's config were read in the calling thread. Names behind
references come from the display, a contained or _include'd resource, else one read of the
Practitioner/Location/Medication, cached in the shared cache (these are not patient data).
Decisions (issue 5):
- appointments: an entered-in-error one never existed and is dropped; a cancelled one stays, with
  status "cancelled" (say.py skips it when naming the next visit); one without a time cannot be
  placed before or after now and is dropped. Upcoming is soonest first, past is latest first.
- messages: those from the care team to the patient, newest first. A vendor with no patient-level
  Communication search raises EHRUnavailable("not_supported"): an empty list would say "no messages".
"""

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.capabilities import Capabilities
from ehr_integrations.fhir.client import FhirClient, SearchResult
from ehr_integrations.normalize.appointments import appointment_references, normalize_appointment
from ehr_integrations.normalize.flat import Appointment, FlatPatient, Medication, Message
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.medications import medication_references, normalize_medication
from ehr_integrations.normalize.messages import message_references, normalize_message
from ehr_integrations.normalize.patient import normalize_patient
from ehr_integrations.normalize.references import index, reference_key
from ehr_integrations.transport import shared_cache

log = logging.getLogger(__name__)

FlatRecord = FlatPatient | Appointment | Medication | Message
REFERENCE_TTL_S = 3600
NEVER_HAPPENED = "entered-in-error"
CANCELLED_LOOKBACK = timedelta(days=30)


def _cache_key(client: FhirClient, reference: str) -> str:
    return f"ehr:ref:{client.config.health_system_id}:{reference}"


async def _read_reference(client: FhirClient, reference: str, *, deadline: float) -> dict | None:
    resource_type, resource_id = reference.split("/", 1)
    try:
        resource = await client.read(resource_type, resource_id, deadline=deadline)
    except (EHRRequestRejected, EHRUnavailable):
        return None  # the name stays unknown; the record itself is still worth answering with
    try:
        await shared_cache.set(_cache_key(client, reference), resource, REFERENCE_TTL_S, deadline=deadline)
    except shared_cache.CacheUnavailable:
        pass
    return resource


async def _resolve(client: FhirClient, wanted: set[str], known: dict, *, deadline: float) -> None:
    """Add the readable referenced resources to `known`: from the shared cache, else one read each."""
    caps = await client.capabilities(deadline=deadline)
    readable = sorted(r for r in wanted if r.split("/")[0] in caps.preset.readable_references)
    if not readable:
        return
    keys = {reference: _cache_key(client, reference) for reference in readable}
    try:
        cached = await shared_cache.get_many(list(keys.values()), deadline=deadline)
    except shared_cache.CacheUnavailable:
        cached = {}
    known.update({reference: cached[key] for reference, key in keys.items() if key in cached})
    missing = [reference for reference in readable if reference not in known]
    reads = await asyncio.gather(*(_read_reference(client, r, deadline=deadline) for r in missing))
    known.update({reference: resource for reference, resource in zip(missing, reads, strict=True) if resource})


def _search_params(caps: Capabilities, resource_type: str, params: dict) -> dict:
    includes = caps.preset.includes_for(resource_type)
    return {**caps.preset.extras_for(resource_type), **params, **({"_include": list(includes)} if includes else {})}


async def _search(client: FhirClient, resource_type: str, params: dict, *, deadline: float) -> SearchResult:
    """A core search; one that a server refuses for its `_include`s (400) is asked again without them,
    and the names come from reference reads instead."""
    try:
        return await client.search(resource_type, params, deadline=deadline)
    except EHRRequestRejected as refused:
        if refused.status != 400 or "_include" not in params:
            raise
    log.info("%s search refused with _include; asked again without", resource_type)
    return await client.search(resource_type, {k: v for k, v in params.items() if k != "_include"}, deadline=deadline)


def _when(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.min.replace(tzinfo=UTC)


def _of_type(resources: list[dict], resource_type: str) -> list[dict]:
    return [r for r in resources if r.get("resourceType") == resource_type]


async def fetch_patient(client: FhirClient, mapping: Mapping, patient_id: str, *, deadline: float) -> FlatPatient:
    """The patient as a FlatPatient (identifiers included; use .public() for anything that leaves)."""
    caps = (await client.capabilities(deadline=deadline)).require("patient")
    return normalize_patient(await client.read("Patient", patient_id, deadline=deadline), caps.applied_to(mapping))


def _has_patient(appointment: dict, patient_id: str) -> bool:
    """Whether the appointment names the patient among its participants (typed or bare reference)."""
    wanted = f"Patient/{patient_id}"
    for participant in appointment.get("participant") or []:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if isinstance(actor, dict) and reference_key(actor.get("reference")) == wanted:
            return True
    return False


async def fetch_appointments(
    client: FhirClient,
    mapping: Mapping,
    patient_id: str,
    *,
    when: str,
    now: datetime,
    tz: ZoneInfo,
    deadline: float,
    limit: int = 5,
) -> list[Appointment]:
    """At most `limit` appointments: `upcoming` (start >= now, soonest first, only those the caller is
    expected at), `past` (latest first) or `cancelled` (cancelled or missed, from CANCELLED_LOOKBACK ago
    on, soonest first). Statuses are the preset's vocabulary; entered-in-error is never listed."""
    if when not in ("upcoming", "past", "cancelled"):
        raise ValueError("when must be 'upcoming', 'past' or 'cancelled'")
    since = now - CANCELLED_LOOKBACK if when == "cancelled" else now
    moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    bound = f"lt{moment}" if when == "past" else f"ge{moment}"
    caps = (await client.capabilities(deadline=deadline)).require("appointments")
    params = _search_params(caps, "Appointment", {"patient": f"Patient/{patient_id}", "date": bound})
    result = await _search(client, "Appointment", params, deadline=deadline)
    # Only the caller's: a server that ignored `patient=` must not put another patient's visit in the answer.
    resources = [r for r in _of_type(result.resources, "Appointment") if _has_patient(r, patient_id)]
    known = index(result.included)
    wanted = set().union(*(appointment_references(r, mapping, known) for r in resources))
    await _resolve(client, wanted, known, deadline=deadline)
    items = [normalize_appointment(r, mapping, tz=tz, known=known) for r in resources]
    cutoff = since.astimezone(tz)
    wanted_statuses = {"upcoming": caps.preset.expected_statuses, "cancelled": caps.preset.cancelled_statuses}
    items = [
        item
        for item in items
        if item.datetime and item.status != NEVER_HAPPENED
        and (_when(item.datetime) >= cutoff) == (when != "past")
        and (when not in wanted_statuses or item.status in wanted_statuses[when])
    ]  # fmt: skip
    items.sort(key=lambda item: _when(item.datetime), reverse=when == "past")
    return items[:limit]


async def fetch_medications(
    client: FhirClient,
    mapping: Mapping,
    patient_id: str,
    *,
    status: str = "active",
    deadline: float,
    today: date | None = None,
) -> list[Medication]:
    """The patient's medication requests with `status` (active by default), by name."""
    caps = (await client.capabilities(deadline=deadline)).require("medications")
    preset = caps.preset
    params = _search_params(caps, "MedicationRequest", {"patient": f"Patient/{patient_id}", "status": status})
    core = _search(client, "MedicationRequest", params, deadline=deadline)
    # dispenses None: the vendor gives none (refills as prescribed); fills_unknown: the site withholds
    # them (grant, server or override) or the enrichment failed.
    dispenses, fills_unknown = None, not caps.enrichment("medications", "dispenses")
    if preset.dispense_search_param:
        enrichment = _dispenses(client, preset.dispense_search_param, patient_id, deadline=deadline)
        found, dispenses = await asyncio.gather(core, enrichment)
        fills_unknown = dispenses is None
    else:
        found = await core
    requests = _of_type(found.resources, "MedicationRequest")
    known = index(found.included)
    known.update(index(r for r in found.resources if r.get("resourceType") == "Medication"))
    wanted = set().union(*(medication_references(r, mapping, known) for r in requests))
    await _resolve(client, wanted, known, deadline=deadline)
    today = today or datetime.now(mapping.tz).date()
    items = [
        normalize_medication(r, mapping, today=today, tz=mapping.tz, dispenses=dispenses, known=known) for r in requests
    ]
    items = [item for item in items if item.status == status]
    if fills_unknown:  # never invent: what the fills would tell is not known
        items = [replace(item, refills_remaining=None, last_filled=None, refill_eligible=None) for item in items]
    return sorted(items, key=lambda item: ((item.name or "").casefold(), item.id or ""))


async def _dispenses(client: FhirClient, param: str, patient_id: str, *, deadline: float) -> list[dict] | None:
    """The patient's dispenses, an optional enrichment: refused or failing, None (the medications are
    then answered with refills left, last fill and eligibility empty, not guessed)."""
    try:
        result = await client.search("MedicationDispense", {param: f"Patient/{patient_id}"}, deadline=deadline)
    except (EHRRequestRejected, EHRUnavailable) as exc:
        log.info("medication dispenses left out: %s", exc.reason)
        return None
    return _of_type(result.resources, "MedicationDispense")


def _sent_by_patient(resource: dict, patient_id: str) -> bool:
    sender = resource.get("sender")
    return isinstance(sender, dict) and reference_key(sender.get("reference")) == f"Patient/{patient_id}"


async def fetch_messages(
    client: FhirClient, mapping: Mapping, patient_id: str, *, limit: int = 5, deadline: float
) -> list[Message]:
    """The newest `limit` messages from the care team to the patient."""
    caps = (await client.capabilities(deadline=deadline)).require("messages")
    param = caps.preset.communication_search_param
    if not param:
        raise EHRUnavailable("not_supported")
    params = _search_params(caps, "Communication", {param: f"Patient/{patient_id}"})
    result = await _search(client, "Communication", params, deadline=deadline)
    resources = [
        r
        for r in _of_type(result.resources, "Communication")
        if not _sent_by_patient(r, patient_id) and r.get("status") != NEVER_HAPPENED
    ]
    known = index(result.included)
    wanted = set().union(*(message_references(r, mapping, known) for r in resources))
    await _resolve(client, wanted, known, deadline=deadline)
    items = [normalize_message(r, mapping, tz=mapping.tz, known=known) for r in resources]
    items.sort(key=lambda item: _when(item.sent_at), reverse=True)
    return items[:limit]


FHIR_TYPES = {
    "patient": "Patient",
    "appointment": "Appointment",
    "medication": "MedicationRequest",
    "message": "Communication",
}
REFERENCES = {"appointment": appointment_references, "medication": medication_references, "message": message_references}


async def _dispenses_for(client: FhirClient, mapping: Mapping, request: dict, *, deadline: float) -> list[dict] | None:
    subject = request.get("subject")
    patient = reference_key(subject.get("reference")) if isinstance(subject, dict) else None
    param = (await client.capabilities(deadline=deadline)).preset.dispense_search_param
    if not (patient and patient.startswith("Patient/") and param):
        return None
    result = await client.search("MedicationDispense", {param: patient}, deadline=deadline)
    return _of_type(result.resources, "MedicationDispense")


async def fetch_one(
    client: FhirClient, mapping: Mapping, resource: str, resource_id: str, *, deadline: float
) -> tuple[dict, FlatRecord]:
    """One resource by id, raw and normalized (names resolved), for the admin preview: (fhir, flat)."""
    fhir = await client.read(FHIR_TYPES[resource], resource_id, deadline=deadline)
    contained = fhir.get("contained")
    known = index(contained if isinstance(contained, list) else [])
    if resource in REFERENCES:
        await _resolve(client, REFERENCES[resource](fhir, mapping, known), known, deadline=deadline)
    dispenses = await _dispenses_for(client, mapping, fhir, deadline=deadline) if resource == "medication" else None
    return fhir, normalize_any(resource, fhir, mapping, known=known, dispenses=dispenses)


def normalize_any(
    resource: str, fhir: object, mapping: Mapping, *, known: dict, dispenses: list | None = None
) -> FlatRecord:
    """Normalize one FHIR resource as the named flat resource, in the health system's zone."""
    tz = mapping.tz
    if resource == "patient":
        return normalize_patient(fhir, mapping)
    if resource == "appointment":
        return normalize_appointment(fhir, mapping, tz=tz, known=known)
    if resource == "medication":
        today = datetime.now(tz).date()
        return normalize_medication(fhir, mapping, today=today, tz=tz, dispenses=dispenses, known=known)
    return normalize_message(fhir, mapping, tz=tz, known=known)
