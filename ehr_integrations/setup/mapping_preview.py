"""Onboarding tools for mapping rules: run a health system's rules on one resource, field by field,
and report which flat fields a sample of the site's real records fills and which come out empty.

Fetching from the EHR reads PHI on behalf of a staff member, so each fetch writes its PHI access
record before anything is shown (fail closed). The coverage report itself shows counts, never values.
"""

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from audit import staff_access as audit_access
from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import FhirClient, connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.models import HealthSystem
from ehr_integrations.normalize.flat import field_names
from ehr_integrations.normalize.mapping import Mapping, load_mapping
from ehr_integrations.normalize.references import index, reference_key
from ehr_integrations.transport import io_loop

CATEGORIES = {
    "patient": "demographics",
    "appointment": "appointments",
    "medication": "medications",
    "message": "messages",
}
SAMPLE_PATIENTS = 10


class PreviewError(Exception):
    """The pasted text or the request cannot be previewed; the message is safe to show."""


@dataclass(frozen=True)
class FieldRow:
    field: str
    value: object
    expression: str | None
    source: str  # "site rule", "preset" or "computed"


@dataclass(frozen=True)
class FieldCoverage:
    field: str
    filled: int
    empty: int

    @property
    def percent(self) -> int:
        total = self.filled + self.empty
        return round(100 * self.filled / total) if total else 0


@dataclass(frozen=True)
class ResourceCoverage:
    resource: str
    sampled: int
    fields: list[FieldCoverage]
    note: str = ""


def field_rows(mapping: Mapping, resource: str, flat: object) -> list[FieldRow]:
    """The flat result field by field, with the expression that produced each value and where it came from."""
    values = asdict(flat)
    rows = []
    for name in field_names(resource):
        expression = mapping.expression(resource, name)
        source = "site rule" if mapping.is_overridden(resource, name) else "preset" if expression else "computed"
        rows.append(FieldRow(name, values[name], expression.text if expression else None, source))
    return rows


def parse_pasted(resource: str, text: str) -> tuple[dict, dict, list | None]:
    """A pasted resource or Bundle: (the resource to preview, resources it may reference, dispenses or None)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PreviewError(f"That is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PreviewError("Paste one FHIR resource (a JSON object) or a Bundle.")
    if data.get("resourceType") != "Bundle":
        return data, {}, None
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    found = [e.get("resource") for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    wanted = records.FHIR_TYPES[resource]
    main = next((r for r in found if r.get("resourceType") == wanted), None)
    if main is None:
        raise PreviewError(f"The Bundle holds no {wanted}.")
    dispenses = [r for r in found if r.get("resourceType") == "MedicationDispense"] or None
    return main, index(found), dispenses


def preview_pasted(health_system: HealthSystem, resource: str, text: str) -> list[FieldRow]:
    """Run the health system's current rules on pasted FHIR JSON (no EHR call, nothing stored)."""
    mapping = load_mapping(health_system)
    fhir, known, dispenses = parse_pasted(resource, text)
    return field_rows(
        mapping, resource, records.normalize_any(resource, fhir, mapping, known=known, dispenses=dispenses)
    )


def _patient_of(fhir: dict) -> str | None:
    if fhir.get("resourceType") == "Patient":
        return fhir.get("id") if isinstance(fhir.get("id"), str) else None
    subject = fhir.get("subject")
    candidates = [subject] if isinstance(subject, dict) else []
    participants = fhir.get("participant") if isinstance(fhir.get("participant"), list) else []
    candidates += [p.get("actor") for p in participants if isinstance(p, dict) and isinstance(p.get("actor"), dict)]
    for candidate in candidates:
        key = reference_key(candidate.get("reference"))
        if key and key.startswith("Patient/"):
            return key.split("/", 1)[1]
    return None


@dataclass(frozen=True)
class StaffAccess:
    """Who reads PHI through these tools, for the PHI access log."""

    health_system: HealthSystem
    staff: object  # the admin user
    source_address: str | None

    def record(self, *, action: str, patient: str | None, types: list[str], ids: list[str], category: str) -> None:
        reader = audit_access.StaffAccess(
            self.health_system.slug, self.staff.get_username(), self.source_address, purpose="onboarding"
        )
        reader.record(action=action, patient=patient, types=types, ids=ids, category=category)


def preview_fetched(access: StaffAccess, resource: str, resource_id: str) -> list[FieldRow]:
    """Fetch one resource from the site's EHR by id and run the rules on it (audited before it is shown)."""
    system, resource_id = access.health_system, resource_id.strip()
    config = connection_config(system)
    mapping = load_mapping(system)
    deadline = deadline_in(config.request_deadline_s)
    coro = records.fetch_one(client_for(system), mapping, resource, resource_id, deadline=deadline)
    fhir, flat = io_loop.wait(coro, deadline=deadline)
    types = [records.FHIR_TYPES[resource]]
    access.record(action="mapping_preview", patient=_patient_of(fhir), types=types, ids=[resource_id],
                  category=CATEGORIES[resource])  # fmt: skip
    return field_rows(mapping, resource, flat)


def tally(resource: str, flats: list, note: str = "") -> ResourceCoverage:
    values = [asdict(flat) for flat in flats]
    fields = [
        FieldCoverage(name, sum(v[name] is not None for v in values), sum(v[name] is None for v in values))
        for name in field_names(resource)
    ]
    return ResourceCoverage(resource, len(flats), fields, note)


async def _sample_patient(
    client: FhirClient, mapping: Mapping, patient_id: str, *, deadline: float
) -> dict[str, list | None]:
    now = datetime.now(mapping.tz)
    patient, upcoming, past, medications = await asyncio.gather(
        records.fetch_patient(client, mapping, patient_id, deadline=deadline),
        records.fetch_appointments(client, mapping, patient_id, when="upcoming", now=now, tz=mapping.tz,
                                   deadline=deadline, limit=50),
        records.fetch_appointments(client, mapping, patient_id, when="past", now=now, tz=mapping.tz,
                                   deadline=deadline, limit=50),
        records.fetch_medications(client, mapping, patient_id, deadline=deadline),
    )  # fmt: skip
    try:
        messages = await records.fetch_messages(client, mapping, patient_id, limit=20, deadline=deadline)
    except EHRUnavailable as exc:
        if exc.reason != "not_supported":
            raise
        messages = None
    return {"patient": [patient], "appointment": upcoming + past, "medication": medications, "message": messages}


async def _sample(
    client: FhirClient, mapping: Mapping, patient_ids: list[str], *, deadline: float
) -> list[dict[str, list | None]]:
    if not patient_ids:
        found = await client.search("Patient", {"_count": str(SAMPLE_PATIENTS)}, deadline=deadline, max_pages=1)
        patient_ids = [r["id"] for r in found.resources if isinstance(r.get("id"), str)][:SAMPLE_PATIENTS]
    return list(await asyncio.gather(*(_sample_patient(client, mapping, p, deadline=deadline) for p in patient_ids)))


def coverage(access: StaffAccess, patient_ids: list[str]) -> list[ResourceCoverage]:
    """For a sample of the site's patients (given, or the EHR's first few), which flat fields came out filled."""
    config = connection_config(access.health_system)
    mapping = load_mapping(access.health_system)
    deadline = deadline_in(max(config.request_deadline_s, 20.0))
    coro = _sample(client_for(access.health_system), mapping, patient_ids, deadline=deadline)
    samples = io_loop.wait(coro, deadline=deadline)
    types = list(records.FHIR_TYPES.values())
    for sample in samples:
        access.record(
            action="mapping_coverage", patient=sample["patient"][0].id, types=types, ids=[], category="records"
        )
    report = []
    for resource in ("patient", "appointment", "medication", "message"):
        if any(s[resource] is None for s in samples):
            report.append(tally(resource, [], note="This vendor offers no patient-level search for these."))
        else:
            report.append(tally(resource, [flat for s in samples for flat in s[resource]]))
    return report
