"""The in-memory population the sandbox serves, with the lookup indexes its searches use."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from ehr_integrations.sandbox.records import (
    AppointmentRecord,
    CommunicationRecord,
    LocationRecord,
    MedicationDispenseRecord,
    MedicationRecord,
    MedicationRequestRecord,
    PatientRecord,
    PractitionerRecord,
)


@dataclass
class Population:
    patients: dict[str, PatientRecord]
    practitioners: dict[str, PractitionerRecord]
    locations: dict[str, LocationRecord]
    medications: dict[str, MedicationRecord]
    appointments: dict[str, AppointmentRecord]
    medication_requests: dict[str, MedicationRequestRecord]
    medication_dispenses: dict[str, MedicationDispenseRecord]
    communications: dict[str, CommunicationRecord]
    hard_cases: dict[str, object]
    by_mrn: dict[str, str] = field(default_factory=dict)
    by_ssn: dict[str, str] = field(default_factory=dict)
    by_birth_date: dict[date, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_family: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_phone: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Patient-level links, by patient id.
    appointments_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    requests_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    dispenses_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    dispenses_of_request: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    communications_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    communications_to: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def build_indexes(self) -> None:
        for patient in self.patients.values():
            self.by_mrn[patient.mrn] = patient.id
            self.by_ssn[patient.ssn.replace("-", "")] = patient.id
            self.by_birth_date[patient.birth_date].append(patient.id)
            self.by_family[patient.family.lower()].append(patient.id)
            if patient.phone:
                self.by_phone[patient.phone[-10:]].append(patient.id)  # records hold E.164 US numbers
        for appointment in self.appointments.values():
            self.appointments_of[appointment.patient_id].append(appointment.id)
        for request in self.medication_requests.values():
            self.requests_of[request.patient_id].append(request.id)
        for dispense in self.medication_dispenses.values():
            self.dispenses_of[dispense.patient_id].append(dispense.id)
            self.dispenses_of_request[dispense.request_id].append(dispense.id)
        for message in self.communications.values():
            self.communications_of[message.patient_id].append(message.id)
            self.communications_to[message.recipient].append(message.id)

    def identifier_candidates(self, value: str) -> list[str]:
        """Patients who may carry an identifier with this value: MRN, SSN, Epic's EPI (E + MRN), and
        the decoy of mrn_system=site. A superset: the flavour's identifiers decide."""
        hits = {self.by_mrn.get(value), self.by_ssn.get(value), self.by_mrn.get(value[1:])}
        complete = self.hard_cases.get("complete")
        if complete and self.patients[complete].mrn == value:
            hits.add(self.hard_cases["mrn_decoy"])
        return [hit for hit in hits if hit]

    def by_birth_date_text(self, text: str) -> list[str]:
        try:
            return self.by_birth_date.get(date.fromisoformat(text), [])
        except ValueError:
            return []

    def refills_remaining(self, request: MedicationRequestRecord) -> int:
        # The first fill is not a refill: a request allowing 3 repeats that was filled twice has 2 left.
        fills = len(self.dispenses_of_request.get(request.id, ()))
        return max(0, request.refills_allowed - max(0, fills - 1))

    def ground_truth(self) -> list[dict]:
        """What tests compare the gateway against: the identifying facts of every patient."""
        return [
            {
                "id": p.id,
                "given": p.given,
                "family": p.family,
                "birth_date": p.birth_date.isoformat(),
                "mrn": p.mrn,
                "ssn_last4": p.ssn_last4,
                "phone": p.phone,
                "gender": p.gender,
            }
            for p in self.patients.values()
        ]

    def table(self, resource_type: str) -> dict:
        return {
            "Patient": self.patients,
            "Practitioner": self.practitioners,
            "Location": self.locations,
            "Medication": self.medications,
            "Appointment": self.appointments,
            "MedicationRequest": self.medication_requests,
            "MedicationDispense": self.medication_dispenses,
            "Communication": self.communications,
        }[resource_type]
