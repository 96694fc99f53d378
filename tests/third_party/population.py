"""The small population the third-party server is loaded with: plain FHIR R4, as a site would hold it.

Ids are fixed; times are relative to `now` (upcoming visits must stay upcoming). Nothing here is
shaped after our sandbox: US Core-style Patients (official name, birthDate, an MRN typed v2-0203 MR,
telecom), a Practitioner and Location behind literal references, Appointments in each state a caller
asks about, MedicationRequests with dispenseRequest.numberOfRepeatsAllowed and their dispenses, and
Communications from the care team.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"  # a made-up site OID
TWIN_BIRTH_DATE = "1961-07-14"


@dataclass(frozen=True)
class Person:
    id: str
    given: str
    family: str
    birth_date: str
    mrn: str
    phone: str


ADA = Person("pat-ada", "Ada", "Okafor", TWIN_BIRTH_DATE, "MR-1001", "+15555550101")
BEA = Person("pat-bea", "Bea", "Okafor", TWIN_BIRTH_DATE, "MR-1002", "+15555550102")  # Ada's twin
CARLOS = Person("pat-carlos", "Carlos", "Núñez", "1985-02-28", "MR-2001", "+15555550103")
PEOPLE = (ADA, BEA, CARLOS)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _patient(person: Person, *, nickname: str | None = None) -> dict:
    names = [{"use": "official", "family": person.family, "given": [person.given]}]
    if nickname:
        names.append({"use": "nickname", "given": [nickname]})
    return {
        "resourceType": "Patient",
        "id": person.id,
        "identifier": [
            {
                "use": "usual",
                "type": {"coding": [{"system": V2_0203, "code": "MR"}], "text": "Medical record number"},
                "system": MRN_SYSTEM,
                "value": person.mrn,
            }
        ],
        "name": names,
        "telecom": [{"system": "phone", "value": person.phone, "use": "home"}],
        "birthDate": person.birth_date,
    }


def _practitioner(id_: str, prefix: str, given: str, family: str) -> dict:
    name = {"prefix": [prefix], "given": [given], "family": family}
    return {"resourceType": "Practitioner", "id": id_, "name": [name]}


def _appointment(id_: str, person: Person, start: datetime, status: str, description: str) -> dict:
    return {
        "resourceType": "Appointment",
        "id": id_,
        "status": status,
        "description": description,
        "start": instant(start),
        "end": instant(start + timedelta(minutes=30)),
        "participant": [
            {"actor": {"reference": f"Patient/{person.id}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/prac-ortiz"}, "status": "accepted"},
            {"actor": {"reference": "Location/loc-riverside"}, "status": "accepted"},
        ],
    }


def _request(id_: str, person: Person, drug: str, status: str, repeats: int, dosage: str, *, now: datetime) -> dict:
    """A MedicationRequest; `drug` is the medicine's text, or a "Medication/<id>" reference."""
    if drug.startswith("Medication/"):
        medication = {"medicationReference": {"reference": drug}}
    else:
        medication = {"medicationCodeableConcept": {"text": drug}}
    authored = (now - timedelta(days=90)).date().isoformat()
    return {
        "resourceType": "MedicationRequest",
        "id": id_,
        "status": status,
        "intent": "order",
        **medication,
        "subject": {"reference": f"Patient/{person.id}"},
        "authoredOn": authored,
        "requester": {"reference": "Practitioner/prac-ortiz"},
        "dosageInstruction": [{"text": dosage}],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": repeats,
            "validityPeriod": {"start": authored, "end": (now + timedelta(days=275)).date().isoformat()},
        },
    }


def _dispense(id_: str, person: Person, request_id: str, handed_over: datetime) -> dict:
    return {
        "resourceType": "MedicationDispense",
        "id": id_,
        "status": "completed",
        "medicationCodeableConcept": {"text": "Lisinopril 10 mg oral tablet"},
        "subject": {"reference": f"Patient/{person.id}"},
        "authorizingPrescription": [{"reference": f"MedicationRequest/{request_id}"}],
        "whenHandedOver": instant(handed_over),
    }


def _message(id_: str, person: Person, sender: str, sent: datetime, topic: str) -> dict:
    return {
        "resourceType": "Communication",
        "id": id_,
        "status": "completed",
        "subject": {"reference": f"Patient/{person.id}"},
        "recipient": [{"reference": f"Patient/{person.id}"}],
        "sender": {"reference": sender},
        "sent": instant(sent),
        "topic": {"text": topic},
        "payload": [{"contentString": f"About {topic.lower()}: please see the portal."}],
    }


PRESCRIPTIONS = [  # id, patient, medicine, status, repeats allowed, dosage
    ("rx-ada-lisinopril", ADA, "Lisinopril 10 mg oral tablet", "active", 3, "Take one tablet by mouth daily"),
    ("rx-ada-metformin", ADA, "Medication/med-metformin", "active", 0, "Take one tablet twice daily with meals"),
    ("rx-ada-amoxicillin", ADA, "Amoxicillin 500 mg capsule", "completed", 0, "Three times daily for ten days"),
    ("rx-bea-atorvastatin", BEA, "Atorvastatin 20 mg tablet", "active", 5, "Take one tablet at bedtime"),
]


def resources(now: datetime) -> list[dict]:
    """Every resource, referenced ones first."""
    day = timedelta(days=1)
    return [
        _practitioner("prac-ortiz", "Dr.", "Lena", "Ortiz"),
        _practitioner("prac-patel", "Dr.", "Sam", "Patel"),
        {"resourceType": "Location", "id": "loc-riverside", "name": "Riverside Clinic, Suite 200"},
        {"resourceType": "Medication", "id": "med-metformin", "code": {"text": "Metformin 500 mg oral tablet"}},
        _patient(ADA, nickname="Addie"),
        _patient(BEA),
        _patient(CARLOS),
        _appointment("appt-ada-soon", ADA, now + 3 * day, "booked", "Annual physical"),
        _appointment("appt-ada-later", ADA, now + 10 * day, "booked", "Blood pressure check"),
        _appointment("appt-ada-cancelled", ADA, now + 5 * day, "cancelled", "Dermatology consult"),
        _appointment("appt-ada-past", ADA, now - 20 * day, "fulfilled", "Flu shot"),
        _appointment("appt-ada-noshow", ADA, now - 4 * day, "noshow", "Physical therapy"),
        _appointment("appt-bea-soon", BEA, now + 2 * day, "booked", "Eye exam"),
        *(_request(*row, now=now) for row in PRESCRIPTIONS),
        _dispense("disp-ada-1", ADA, "rx-ada-lisinopril", now - 60 * day),
        _dispense("disp-ada-2", ADA, "rx-ada-lisinopril", now - 30 * day),
        _message("msg-ada-labs", ADA, "Practitioner/prac-ortiz", now - 2 * day, "Lab results"),
        _message("msg-ada-refill", ADA, "Practitioner/prac-patel", now - 9 * day, "Refill approved"),
        {
            **_message("msg-ada-to-clinic", ADA, "Patient/pat-ada", now - 1 * day, "Question about dosage"),
            "recipient": [{"reference": "Practitioner/prac-ortiz"}],
        },
        _message("msg-bea-labs", BEA, "Practitioner/prac-ortiz", now - 1 * day, "Bea's lab results"),
    ]
