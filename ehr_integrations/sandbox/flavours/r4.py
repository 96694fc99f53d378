"""Plain FHIR R4 building blocks every flavour renders its resources from."""

from datetime import datetime

from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import (
    Address,
    AppointmentRecord,
    CommunicationRecord,
    LocationRecord,
    MedicationDispenseRecord,
    MedicationRecord,
    MedicationRequestRecord,
    PatientRecord,
    PractitionerRecord,
)

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
NPI = "http://hl7.org/fhir/sid/us-npi"


def instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def reference(resource_type: str, resource_id: str, display: str | None = None) -> dict:
    ref = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def patient_display(patient: PatientRecord) -> str:
    return f"{patient.given} {patient.family}"


def practitioner_display(practitioner: PractitionerRecord) -> str:
    if practitioner.prefix == "Dr.":
        return f"Dr. {practitioner.given} {practitioner.family}"
    return f"{practitioner.given} {practitioner.family}, {practitioner.prefix}"


def display_of(population: Population, ref: str) -> str:
    resource_type, resource_id = ref.split("/", 1)
    if resource_type == "Patient":
        return patient_display(population.patients[resource_id])
    return practitioner_display(population.practitioners[resource_id])


def address(value: Address) -> dict:
    return {
        "use": "home",
        "line": [value.line],
        "city": value.city,
        "state": value.state,
        "postalCode": value.postal_code,
        "country": "US",
    }


def names(patient: PatientRecord) -> list[dict]:
    given = [patient.given] + ([patient.middle] if patient.middle else [])
    result = [
        {"use": "official", "text": f"{' '.join(given)} {patient.family}", "family": patient.family, "given": given}
    ]
    if patient.preferred_name:
        result.append({"use": "usual", "given": [patient.preferred_name], "family": patient.family})
    return result


def patient_base(patient: PatientRecord) -> dict:
    return {
        "resourceType": "Patient",
        "id": patient.id,
        "active": True,
        "name": names(patient),
        "gender": patient.gender,
        "birthDate": patient.birth_date.isoformat(),
        "address": [address(patient.address)],
    }


def practitioner(record: PractitionerRecord) -> dict:
    return {
        "resourceType": "Practitioner",
        "id": record.id,
        "active": True,
        "identifier": [{"use": "official", "system": NPI, "value": record.npi}],
        "name": [
            {
                "use": "official",
                "text": practitioner_display(record),
                "family": record.family,
                "given": [record.given],
                **({"prefix": ["Dr."]} if record.prefix == "Dr." else {"suffix": [record.prefix]}),
            }
        ],
    }


def location(record: LocationRecord) -> dict:
    return {
        "resourceType": "Location",
        "id": record.id,
        "status": "active",
        "name": record.name,
        "telecom": [{"system": "phone", "value": record.phone, "use": "work"}],
        "address": {**address(record.address), "use": "work"},
    }


def medication(record: MedicationRecord) -> dict:
    return {
        "resourceType": "Medication",
        "id": record.id,
        "code": medication_concept(record),
        "form": {"text": record.form},
    }


def medication_concept(record: MedicationRecord) -> dict:
    return {"coding": [{"system": RXNORM, "code": record.rxnorm, "display": record.name}], "text": record.name}


def appointment_base(record: AppointmentRecord, population: Population, participants: list[dict]) -> dict:
    end = record.start.timestamp() + record.minutes * 60
    resource = {
        "resourceType": "Appointment",
        "id": record.id,
        "status": record.status,
        "serviceType": [{"text": record.service_type}],
        "description": record.description,
        "start": instant(record.start),
        "end": instant(datetime.fromtimestamp(end, tz=record.start.tzinfo)),
        "minutesDuration": record.minutes,
        "participant": participants,
    }
    if record.status == "cancelled":
        resource["cancelationReason"] = {"text": "Patient request"}
    return resource


def appointment_patient(record: AppointmentRecord, population: Population) -> dict:
    patient = population.patients[record.patient_id]
    return {"actor": reference("Patient", patient.id, patient_display(patient)), "status": "accepted"}


def medication_request_base(record: MedicationRequestRecord, population: Population, medication_x: dict) -> dict:
    patient = population.patients[record.patient_id]
    prescriber = population.practitioners[record.requester_id]
    drug = population.medications[record.medication_id]
    return {
        "resourceType": "MedicationRequest",
        "id": record.id,
        "status": record.status,
        "intent": "order",
        **medication_x,
        "subject": reference("Patient", patient.id, patient_display(patient)),
        "authoredOn": record.authored_on.isoformat(),
        "requester": reference("Practitioner", prescriber.id, practitioner_display(prescriber)),
        "dosageInstruction": [{"text": record.dosage}],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": record.refills_allowed,
            "quantity": {"value": record.quantity, "unit": drug.form},
        },
    }


def medication_dispense_base(record: MedicationDispenseRecord, population: Population, medication_x: dict) -> dict:
    patient = population.patients[record.patient_id]
    drug = population.medications[record.medication_id]
    return {
        "resourceType": "MedicationDispense",
        "id": record.id,
        "status": "completed",
        **medication_x,
        "subject": reference("Patient", patient.id, patient_display(patient)),
        "authorizingPrescription": [reference("MedicationRequest", record.request_id)],
        "quantity": {"value": record.quantity, "unit": drug.form},
        "whenHandedOver": instant(record.handed_over),
    }


def communication(record: CommunicationRecord, population: Population) -> dict:
    patient = population.patients[record.patient_id]
    sender_type, sender_id = record.sender.split("/", 1)
    recipient_type, recipient_id = record.recipient.split("/", 1)
    return {
        "resourceType": "Communication",
        "id": record.id,
        "status": record.status,
        "category": [{"text": "Patient message"}],
        "subject": reference("Patient", patient.id, patient_display(patient)),
        "topic": {"text": record.topic},
        "sent": instant(record.sent),
        "sender": reference(sender_type, sender_id, display_of(population, record.sender)),
        "recipient": [reference(recipient_type, recipient_id, display_of(population, record.recipient))],
        "payload": [{"contentString": record.text}],
    }


def appointment_with_references(record: AppointmentRecord, population: Population) -> dict:
    """Participants as references with display names (plain R4, as Epic sends them)."""
    clinician = population.practitioners[record.practitioner_id]
    place = population.locations[record.location_id]
    participants = [
        appointment_patient(record, population),
        {"actor": reference("Practitioner", clinician.id, practitioner_display(clinician)), "status": "accepted"},
        {"actor": reference("Location", place.id, place.name), "status": "accepted"},
    ]
    return appointment_base(record, population, participants)


def medication_request_with_concept(record: MedicationRequestRecord, population: Population) -> dict:
    concept = medication_concept(population.medications[record.medication_id])
    return medication_request_base(record, population, {"medicationCodeableConcept": concept})


def medication_dispense_with_concept(record: MedicationDispenseRecord, population: Population) -> dict:
    concept = medication_concept(population.medications[record.medication_id])
    return medication_dispense_base(record, population, {"medicationCodeableConcept": concept})
