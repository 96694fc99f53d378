"""The patient directory of the access report (audit/patient_directory.py): an MRN or an EHR id
resolved through the health system's EHR, each lookup written to the PHI access log first.

The record is written once the EHR has answered and before the answer is returned: the patient's
id is known only then, and if the record cannot be written nothing is shown (AuditUnavailable).
"""

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from audit.patient_directory import DirectoryUnavailable, PatientHeader
from audit.staff_access import StaffAccess
from compliance.encryption import SecretUnreadable
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRError, EHRRequestRejected
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.escaping import escape
from ehr_integrations.fhir.site import site_inputs
from ehr_integrations.identity import mrn_search_token
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.mapping import Mapping, load_mapping
from ehr_integrations.normalize.patient import normalize_patient
from ehr_integrations.transport import io_loop

LOOKUP_DEADLINE_S = 8.0
T = TypeVar("T")


def find_by_mrn(*, health_system: str, mrn: str, reviewer: str, source_address: str | None) -> PatientHeader | None:
    """The one patient the EHR holds under that MRN, or None (none, several, or no such health system)."""
    system = HealthSystem.objects.filter(slug=health_system).first()
    if system is None or not mrn.strip():
        return None
    client, mapping = _client(system)
    found = _ask(lambda deadline: _search_by_mrn(client, mapping, mrn.strip(), deadline=deadline))
    matching = [p for p in found if p.mrn == mrn.strip()]
    patient = matching[0] if len(matching) == 1 else None
    _record(system, patient, reviewer=reviewer, source_address=source_address, how="mrn")
    return _header(patient) if patient else None


def header_for(
    *, health_system: str, patient_reference: str, reviewer: str, source_address: str | None
) -> PatientHeader | None:
    """The header of a patient the log names by EHR id, or None when the EHR does not know the id."""
    system = HealthSystem.objects.filter(slug=health_system).first()
    if system is None:
        return None
    try:
        client, mapping = _client(system)
        patient = _ask(lambda deadline: _read(client, mapping, patient_reference, deadline=deadline))
    except DirectoryUnavailable as exc:
        if exc.reason != "not_found":
            raise
        patient = None
    _record(system, patient, reviewer=reviewer, source_address=source_address, how="id")
    return _header(patient) if patient else None


def _client(system: HealthSystem) -> tuple[FhirClient, Mapping]:
    """Read in sync code: the configuration comes from the database."""
    if not EHRConnection.objects.filter(health_system=system).exists():
        raise DirectoryUnavailable("no EHR connection")
    try:
        return FhirClient(connection_config(system), site_inputs(system)), load_mapping(system)
    except SecretUnreadable:
        raise DirectoryUnavailable("its client secret cannot be read") from None


async def _search_by_mrn(client: FhirClient, mapping: Mapping, mrn: str, *, deadline: float) -> list[FlatPatient]:
    caps = (await client.capabilities(deadline=deadline)).require("patient")
    params = {"identifier": mrn_search_token(escape(mrn), caps.preset.mrn_identifier)}
    result = await client.search("Patient", params, deadline=deadline, max_pages=1)
    mapping = caps.applied_to(mapping)
    return [normalize_patient(r, mapping) for r in result.resources if r.get("resourceType") == "Patient"]


async def _read(client: FhirClient, mapping: Mapping, patient_reference: str, *, deadline: float) -> FlatPatient:
    caps = (await client.capabilities(deadline=deadline)).require("patient")
    resource = await client.read("Patient", patient_reference, deadline=deadline)
    return normalize_patient(resource, caps.applied_to(mapping))


def _ask(make: Callable[[float], Coroutine[Any, Any, T]]) -> T:
    deadline = io_loop.deadline_in(LOOKUP_DEADLINE_S)
    try:
        return io_loop.wait(make(deadline), deadline=deadline)
    except EHRRequestRejected as exc:
        raise DirectoryUnavailable("not_found" if exc.status in (404, 410) else exc.reason) from None
    except EHRError as exc:
        raise DirectoryUnavailable(getattr(exc, "reason", None) or getattr(exc, "error", type(exc).__name__)) from None


def _record(
    system: HealthSystem, patient: FlatPatient | None, *, reviewer: str, source_address: str | None, how: str
) -> None:
    StaffAccess(system.slug, reviewer, source_address, purpose="compliance_review").record(
        action=f"patient_lookup_by_{how}",
        patient=patient.id if patient else None,
        types=["Patient"],
        ids=[patient.id] if patient and patient.id else [],
        category="demographics",
        outcome="success" if patient else "failed",
    )


def _header(patient: FlatPatient) -> PatientHeader:
    name = " ".join(part for part in (patient.given_name, patient.family_name) if part) or "(no name on record)"
    return PatientHeader(
        reference=patient.id or "", name=name, birth_date=patient.birth_date or "-", mrn=patient.mrn or "-"
    )
