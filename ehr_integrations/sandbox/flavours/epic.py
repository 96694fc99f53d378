"""Epic flavour: identifiers with `type.text` only and `urn:oid:` systems, SSN only as a masked rendered
value, dashed phone numbers, `medicationReference`, and Epic's minimum search parameter sets."""

from ehr_integrations.sandbox.flavours import r4
from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import (
    LocationRecord,
    MedicationDispenseRecord,
    MedicationRequestRecord,
    PatientRecord,
    PractitionerRecord,
)

NAME = "epic"
EPI_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0"
MRN_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
SSN_SYSTEM = "urn:oid:2.16.840.1.113883.4.1"
NPI_SYSTEM = "urn:oid:2.16.840.1.113883.4.6"
RENDERED_VALUE = "http://hl7.org/fhir/StructureDefinition/rendered-value"

# Epic refuses a search that lacks one of these parameter combinations (400, OperationOutcome).
MINIMUM_SEARCH_SETS: dict[str, tuple[frozenset[str], ...]] = {
    "Patient": (
        frozenset({"_id"}),
        frozenset({"identifier"}),
        frozenset({"family", "birthdate"}),
        frozenset({"given", "birthdate", "phone"}),
        frozenset({"family", "phone"}),
        frozenset({"birthdate", "phone"}),
    ),
    "Appointment": (frozenset({"_id"}), frozenset({"patient"})),
    "MedicationRequest": (frozenset({"_id"}), frozenset({"patient"})),
    "MedicationDispense": (frozenset({"_id"}), frozenset({"patient"})),
    "Communication": (frozenset({"_id"}), frozenset({"subject"}), frozenset({"recipient"})),
    "Practitioner": (frozenset({"_id"}), frozenset({"identifier"}), frozenset({"family"}), frozenset({"name"})),
    "Location": (frozenset({"_id"}), frozenset({"name"}), frozenset({"identifier"})),
    "Medication": (frozenset({"_id"}), frozenset({"code"})),
}
UNSUPPORTED_SEARCH_PARAMS: dict[str, frozenset[str]] = {}
WRITABLE = ("Communication",)  # Epic's R4 API creates Communication, not Task


def dashed(phone: str) -> str:
    digits = phone[-10:]
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def identifier_values(patient: PatientRecord) -> list[tuple[str, str]]:
    return [(MRN_SYSTEM, patient.mrn), (EPI_SYSTEM, f"E{patient.mrn}")]


def patient(record: PatientRecord) -> dict:
    resource = r4.patient_base(record)
    resource["identifier"] = [
        {"use": "usual", "type": {"text": "EPI"}, "system": EPI_SYSTEM, "value": f"E{record.mrn}"},
        {"use": "usual", "type": {"text": "MRN"}, "system": MRN_SYSTEM, "value": record.mrn},
        {
            "use": "usual",
            "type": {"text": "SSN"},
            "system": SSN_SYSTEM,
            "_value": {"extension": [{"url": RENDERED_VALUE, "valueString": f"xxx-xx-{record.ssn_last4}"}]},
        },
    ]
    if record.phone:
        resource["telecom"] = [{"system": "phone", "value": dashed(record.phone), "use": "home"}]
    return resource


def practitioner(record: PractitionerRecord) -> dict:
    resource = r4.practitioner(record)
    resource["identifier"] = [{"use": "usual", "type": {"text": "NPI"}, "system": NPI_SYSTEM, "value": record.npi}]
    return resource


def location(record: LocationRecord) -> dict:
    resource = r4.location(record)
    resource["telecom"] = [{"system": "phone", "value": dashed(record.phone), "use": "work"}]
    return resource


medication = r4.medication
appointment = r4.appointment_with_references


def _medication_reference(record_medication_id: str, population: Population) -> dict:
    drug = population.medications[record_medication_id]
    return {"medicationReference": r4.reference("Medication", drug.id, drug.name)}


def medication_request(record: MedicationRequestRecord, population: Population) -> dict:
    return r4.medication_request_base(record, population, _medication_reference(record.medication_id, population))


def medication_dispense(record: MedicationDispenseRecord, population: Population) -> dict:
    return r4.medication_dispense_base(record, population, _medication_reference(record.medication_id, population))


communication = r4.communication
