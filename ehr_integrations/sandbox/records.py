"""The sandbox's neutral clinical records. Flavours render these as each vendor's FHIR shapes."""

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Address:
    line: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class PatientRecord:
    id: str
    given: str
    middle: str | None
    family: str
    gender: str
    birth_date: date
    mrn: str
    ssn: str
    phone: str | None  # E.164
    address: Address
    preferred_name: str | None = None

    @property
    def ssn_last4(self) -> str:
        return self.ssn[-4:]


@dataclass(frozen=True, slots=True)
class PractitionerRecord:
    id: str
    npi: str
    given: str
    family: str
    prefix: str
    specialty: str


@dataclass(frozen=True, slots=True)
class LocationRecord:
    id: str
    name: str
    phone: str
    address: Address


@dataclass(frozen=True, slots=True)
class AppointmentRecord:
    id: str
    patient_id: str
    practitioner_id: str
    location_id: str
    start: datetime
    minutes: int
    status: str  # booked, fulfilled, cancelled, noshow
    description: str
    service_type: str


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    id: str
    rxnorm: str
    name: str
    form: str


@dataclass(frozen=True, slots=True)
class MedicationRequestRecord:
    id: str
    patient_id: str
    medication_id: str
    requester_id: str
    status: str  # active, stopped, completed
    authored_on: date
    dosage: str
    refills_allowed: int
    quantity: int


@dataclass(frozen=True, slots=True)
class MedicationDispenseRecord:
    id: str
    patient_id: str
    request_id: str
    medication_id: str
    handed_over: datetime
    quantity: int


@dataclass(frozen=True, slots=True)
class CommunicationRecord:
    id: str
    patient_id: str
    sender: str  # "Patient/x" or "Practitioner/y"
    recipient: str
    sent: datetime
    topic: str
    text: str
    status: str  # completed, in-progress
