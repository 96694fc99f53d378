"""The search parameters the sandbox understands, per resource type.

Each parameter has a `match` test for one record and optionally an `index` that narrows the
candidates without scanning the whole table (so 100,000 patients search quickly).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

from ehr_integrations.sandbox import search_values as sv
from ehr_integrations.sandbox.population import Population
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

Match = Callable[[object, str, str, Population, ModuleType], bool]
Index = Callable[[str, str, Population, ModuleType], Iterable[str] | None]
# What a match test is given: any record (`_id`), or the records that point at a patient.
SandboxRecord = (
    PatientRecord
    | PractitionerRecord
    | LocationRecord
    | MedicationRecord
    | AppointmentRecord
    | MedicationRequestRecord
    | MedicationDispenseRecord
    | CommunicationRecord
)
PatientLinked = AppointmentRecord | MedicationRequestRecord | MedicationDispenseRecord | CommunicationRecord


@dataclass(frozen=True)
class Param:
    match: Match
    index: Index | None = None


def _by_id(record: SandboxRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return record.id == value


def _id_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str]:
    return [value]


ID = Param(_by_id, _id_index)


def _reference(attribute: str, resource_type: str) -> Param:
    def match(record: object, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
        return getattr(record, attribute) == sv.reference_id(value, resource_type)

    return Param(match)


def _patient_link(links: str) -> Param:
    """A `patient`/`subject` parameter answered from the population's per-patient index."""

    def match(record: PatientLinked, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
        return record.patient_id == sv.reference_id(value, "Patient")

    def index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str]:
        return getattr(population, links).get(sv.reference_id(value, "Patient"), [])

    return Param(match, index)


def _token_attribute(attribute: str) -> Param:
    def match(record: object, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
        return getattr(record, attribute) == sv.token(value)[1]

    return Param(match)


def _date_attribute(attribute: str) -> Param:
    def match(record: object, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
        moment = getattr(record, attribute)
        return sv.date_matches(moment, value) if hasattr(moment, "hour") else sv.day_matches(moment, value)

    return Param(match)


# Patient -------------------------------------------------------------------------------------------


def _patient_identifier(
    record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    system, code = sv.token(value)
    return any(code == v and system in (None, s) for s, v in flavour.identifier_values(record))


def _patient_identifier_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str]:
    return population.identifier_candidates(sv.token(value)[1])


def _family(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return sv.string_matches([record.family], value, modifier)


def _family_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str] | None:
    return population.by_family.get(value.lower(), []) if modifier == "exact" else None


def _given(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    names = [record.given] + [n for n in (record.middle, record.preferred_name) if n]
    return sv.string_matches(names, value, modifier)


def _name(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return _given(record, value, modifier, population, flavour) or _family(record, value, modifier, population, flavour)


def _birthdate(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return sv.day_matches(record.birth_date, value)


def _birthdate_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str] | None:
    prefix, start, _end = sv.date_range(value)
    if prefix != "eq" or len(value) != 10:
        return None
    return population.by_birth_date.get(start.date(), [])


def _phone(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return bool(record.phone) and sv.phone_digits(record.phone) == sv.phone_digits(sv.token(value)[1])


def _phone_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str]:
    return population.by_phone.get(sv.phone_digits(sv.token(value)[1]), [])


def _gender(record: PatientRecord, value: str, modifier: str, population: Population, flavour: ModuleType) -> bool:
    return record.gender == value


# Practitioner and Location --------------------------------------------------------------------------


def _practitioner_identifier(
    record: PractitionerRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return record.npi == sv.token(value)[1]


def _practitioner_name(
    record: PractitionerRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return sv.string_matches([record.given, record.family], value, modifier)


def _practitioner_family(
    record: PractitionerRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return sv.string_matches([record.family], value, modifier)


def _location_name(
    record: LocationRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return sv.string_matches([record.name], value, modifier or "contains")


# Appointment and Communication ----------------------------------------------------------------------


def _appointment_actor(
    record: AppointmentRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return sv.reference_id(value, value.split("/")[-2] if "/" in value else "") in {
        record.patient_id,
        record.practitioner_id,
        record.location_id,
    }


def _communication_party(attribute: str) -> Param:
    def match(
        record: CommunicationRecord, value: str, modifier: str, population: Population, flavour: ModuleType
    ) -> bool:
        ref = getattr(record, attribute)
        return value == ref or value.endswith("/" + ref) or ref.split("/", 1)[1] == value

    return Param(match)


def _recipient_index(value: str, modifier: str, population: Population, flavour: ModuleType) -> list[str] | None:
    if "/" not in value:
        return None
    return population.communications_to.get("/".join(value.rstrip("/").split("/")[-2:]), [])


def _medication_code(
    record: MedicationRecord, value: str, modifier: str, population: Population, flavour: ModuleType
) -> bool:
    return record.rxnorm == sv.token(value)[1]


PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "_id": ID,
        "identifier": Param(_patient_identifier, _patient_identifier_index),
        "family": Param(_family, _family_index),
        "given": Param(_given),
        "name": Param(_name),
        "birthdate": Param(_birthdate, _birthdate_index),
        "phone": Param(_phone, _phone_index),
        "telecom": Param(_phone, _phone_index),
        "gender": Param(_gender),
    },
    "Practitioner": {
        "_id": ID,
        "identifier": Param(_practitioner_identifier),
        "name": Param(_practitioner_name),
        "family": Param(_practitioner_family),
    },
    "Location": {"_id": ID, "name": Param(_location_name)},
    "Medication": {"_id": ID, "code": Param(_medication_code)},
    "Appointment": {
        "_id": ID,
        "patient": _patient_link("appointments_of"),
        "date": _date_attribute("start"),
        "status": _token_attribute("status"),
        "practitioner": _reference("practitioner_id", "Practitioner"),
        "location": _reference("location_id", "Location"),
        "actor": Param(_appointment_actor),
    },
    "MedicationRequest": {
        "_id": ID,
        "patient": _patient_link("requests_of"),
        "subject": _patient_link("requests_of"),
        "status": _token_attribute("status"),
        "authoredon": _date_attribute("authored_on"),
        "intent": Param(lambda record, value, *_: value == "order"),
    },
    "MedicationDispense": {
        "_id": ID,
        "patient": _patient_link("dispenses_of"),
        "subject": _patient_link("dispenses_of"),
        "prescription": _reference("request_id", "MedicationRequest"),
        "status": Param(lambda record, value, *_: value == "completed"),
    },
    "Communication": {
        "_id": ID,
        "subject": _patient_link("communications_of"),
        "patient": _patient_link("communications_of"),
        "recipient": Param(_communication_party("recipient").match, _recipient_index),
        "sender": _communication_party("sender"),
        "sent": _date_attribute("sent"),
        "status": _token_attribute("status"),
    },
}

# Result parameters every search accepts; they shape the answer rather than filter it.
CONTROL_PARAMS = frozenset({"_count", "_include", "_format", "_getpages", "_getpagesoffset", "_total", "_pretty"})

# _include values and the references they follow, read from the rendered resource.
INCLUDES: dict[str, dict[str, str]] = {
    "Appointment": {
        "actor": "participant.actor",
        "patient": "participant.actor:Patient",
        "practitioner": "participant.actor:Practitioner",
        "location": "participant.actor:Location",
    },
    "MedicationRequest": {
        "medication": "medicationReference",
        "requester": "requester",
        "patient": "subject",
        "subject": "subject",
    },
    "MedicationDispense": {"medication": "medicationReference", "prescription": "authorizingPrescription"},
    "Communication": {"sender": "sender", "recipient": "recipient", "subject": "subject", "patient": "subject"},
}
