"""Generic flavour: plain FHIR R4, except the phone lives in a site-specific extension, not `telecom`."""

from ehr_integrations.sandbox.flavours import r4
from ehr_integrations.sandbox.records import PatientRecord

NAME = "generic"
MRN_SYSTEM = "http://sandbox.example.org/fhir/sid/mrn"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
PHONE_EXTENSION = "http://sandbox.example.org/fhir/StructureDefinition/primary-phone"
MINIMUM_SEARCH_SETS: dict[str, tuple[frozenset[str], ...]] = {}
UNSUPPORTED_SEARCH_PARAMS: dict[str, frozenset[str]] = {}
WRITABLE = ("Task", "Communication")  # what POST creates (sandbox/writes.py)


def identifier_values(patient: PatientRecord) -> list[tuple[str, str]]:
    return [(MRN_SYSTEM, patient.mrn), (SSN_SYSTEM, patient.ssn.replace("-", ""))]


def patient(record: PatientRecord) -> dict:
    resource = r4.patient_base(record)
    resource["identifier"] = [
        {
            "use": "usual",
            "type": {"coding": [{"system": r4.V2_0203, "code": "MR"}], "text": "MRN"},
            "system": MRN_SYSTEM,
            "value": record.mrn,
        },
        {
            "use": "official",
            "type": {"coding": [{"system": r4.V2_0203, "code": "SS"}], "text": "SSN"},
            "system": SSN_SYSTEM,
            "value": record.ssn.replace("-", ""),
        },
    ]
    if record.phone:
        resource["extension"] = [{"url": PHONE_EXTENSION, "valueString": record.phone}]
    return resource


practitioner = r4.practitioner
location = r4.location
medication = r4.medication
appointment = r4.appointment_with_references
medication_request = r4.medication_request_with_concept
medication_dispense = r4.medication_dispense_with_concept
communication = r4.communication
