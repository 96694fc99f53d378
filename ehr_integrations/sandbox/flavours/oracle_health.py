"""Oracle Health (Cerner) flavour: MRN typed as codeSet 4 code 10 plus v2-0203 MR, never an SSN,
appointment participants that carry only a display name, no patient-level Communication search."""

from ehr_integrations.sandbox.flavours import r4
from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import (
    AppointmentRecord,
    PatientRecord,
)

NAME = "oracle_health"
TENANT = "ec2458f2-1e24-41c8-b71b-0e701af7583d"
CODE_SET_4 = f"https://fhir.cerner.com/{TENANT}/codeSet/4"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.6.1000"
MINIMUM_SEARCH_SETS: dict[str, tuple[frozenset[str], ...]] = {
    "Communication": (frozenset({"_id"}), frozenset({"recipient"})),
}
# Oracle Health has no patient-level Communication search: these parameters are unknown to it.
UNSUPPORTED_SEARCH_PARAMS: dict[str, frozenset[str]] = {"Communication": frozenset({"subject", "patient"})}
WRITABLE = ("Task", "Communication")


def identifier_values(patient: PatientRecord) -> list[tuple[str, str]]:
    return [(MRN_SYSTEM, patient.mrn)]


def patient(record: PatientRecord) -> dict:
    resource = r4.patient_base(record)
    resource["identifier"] = [
        {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": CODE_SET_4, "code": "10", "display": "MRN", "userSelected": True},
                    {"system": r4.V2_0203, "code": "MR", "display": "Medical record number"},
                ],
                "text": "MRN",
            },
            "system": MRN_SYSTEM,
            "value": record.mrn,
        }
    ]
    if record.phone:
        resource["telecom"] = [{"system": "phone", "value": record.phone[-10:], "use": "home", "rank": 1}]
    return resource


practitioner = r4.practitioner
location = r4.location
medication = r4.medication


def appointment(record: AppointmentRecord, population: Population) -> dict:
    clinician = population.practitioners[record.practitioner_id]
    place = population.locations[record.location_id]
    participants = [
        r4.appointment_patient(record, population),
        {"actor": {"display": r4.practitioner_display(clinician)}, "status": "accepted"},
        {"actor": {"display": place.name}, "status": "accepted"},
    ]
    return r4.appointment_base(record, population, participants)


medication_request = r4.medication_request_with_concept
medication_dispense = r4.medication_dispense_with_concept
communication = r4.communication
