"""Arbitrary valid-shaped and malformed resources: nothing escapes, missing is null, nothing extra appears."""

import copy
import json
from dataclasses import asdict
from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehr_integrations.normalize.appointments import appointment_references, normalize_appointment
from ehr_integrations.normalize.flat import PATIENT_PUBLIC_FIELDS, field_names
from ehr_integrations.normalize.mapping import build_mapping
from ehr_integrations.normalize.medications import medication_references, normalize_medication
from ehr_integrations.normalize.messages import message_references, normalize_message
from ehr_integrations.normalize.patient import normalize_patient

TZ = ZoneInfo("America/New_York")
TODAY = date(2025, 11, 24)
MAPPINGS = {
    vendor: build_mapping(vendor, time_zone="America/New_York") for vendor in ("epic", "oracle_health", "generic")
}
TYPES = {
    "id": str, "given_name": str, "family_name": str, "preferred_name": str, "phone": str, "birth_date": str,
    "mrn": str, "ssn_last4": str, "datetime": str, "provider_name": str, "location": str, "status": str,
    "description": str, "name": str, "dosage": str, "prescriber_name": str, "refills_remaining": int,
    "last_filled": str, "refill_eligible": bool, "sent_at": str, "sender": str, "subject": str,
}  # fmt: skip
FHIR_KEYS = (
    "resourceType id name given family use text prefix telecom system value identifier type coding code display "
    "birthDate extension url valueString _value participant actor reference start status description serviceType "
    "medicationCodeableConcept medicationReference dosageInstruction patientInstruction requester dispenseRequest "
    "numberOfRepeatsAllowed validityPeriod end sent sender topic payload contained authorizingPrescription "
    "whenHandedOver"
).split()

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
keys = st.sampled_from(FHIR_KEYS) | st.text(max_size=6)
junk = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4), max_leaves=25
)
words = st.text(max_size=15) | junk
moments = st.sampled_from(["2025-12-02T20:30:00Z", "2025-12-02T15:30:00", "2025-12-02", "2025-13-45T99:00:00Z", "x"])
dates = st.sampled_from(["1980-01-02", "1980-02-30", "1980", "1980-01", "1980-01-02T10:00:00Z", ""]) | words
references = st.fixed_dictionaries(
    {},
    optional={
        "reference": st.sampled_from(["Practitioner/p1", "Location/l1", "Patient/x", "#c1", "Medication/m1", "/", ""])
        | words,
        "display": words,
        "type": words,
    },
)
concepts = st.fixed_dictionaries(
    {},
    optional={
        "text": words,
        "coding": st.lists(
            st.fixed_dictionaries({}, optional={"system": words, "code": words, "display": words}), max_size=2
        ),
    },
)  # noqa: E501
names = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "use": st.sampled_from(["official", "usual", "nickname", "old"]) | words,
            "given": st.lists(words, max_size=2) | words,
            "family": words,
            "text": words,
            "prefix": st.lists(words, max_size=1),
        },
    ),
    max_size=3,
)
contained = st.lists(
    st.fixed_dictionaries(
        {"resourceType": st.sampled_from(["Practitioner", "Location", "Medication"]), "id": st.just("c1")},
        optional={"name": names | words, "code": concepts},
    ),  # noqa: E501
    max_size=2,
)


def shaped(resource_type: str, fields: dict) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"resourceType": st.just(resource_type)},
        optional={"id": words, "status": st.sampled_from(["active", "booked", "cancelled", "stopped"]) | words,
                  "contained": contained | junk, **fields},
    )  # fmt: skip


patients = shaped(
    "Patient",
    {
        "name": names | junk,
        "birthDate": dates,
        "telecom": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "system": st.just("phone") | words,
                    "value": st.sampled_from(["816-555-0142", "5550142", "+18165550142"]) | words,
                    "use": words,
                },
            ),
            max_size=2,
        ),  # noqa: E501
        "identifier": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": concepts,
                    "system": st.sampled_from(["urn:oid:2.16.840.1.113883.4.1", "http://hl7.org/fhir/sid/us-ssn"])
                    | words,
                    "value": st.sampled_from(["123-45-6789", "xxx-xx-6789"]) | words,
                },
            ),
            max_size=3,
        ),  # noqa: E501
        "extension": junk,
    },
)
appointments = shaped(
    "Appointment",
    {
        "start": moments | words,
        "participant": st.lists(st.fixed_dictionaries({}, optional={"actor": references | junk}), max_size=3),
        "description": words,
        "serviceType": st.lists(concepts, max_size=2),
    },  # noqa: E501
)
medications = shaped(
    "MedicationRequest",
    {
        "medicationCodeableConcept": concepts | junk,
        "medicationReference": references,
        "dosageInstruction": st.lists(
            st.fixed_dictionaries({}, optional={"text": words, "patientInstruction": words}), max_size=2
        ),  # noqa: E501
        "requester": references | junk,
        "dispenseRequest": st.fixed_dictionaries(
            {},
            optional={
                "numberOfRepeatsAllowed": st.integers(-2, 12) | words,
                "validityPeriod": st.fixed_dictionaries({}, optional={"end": dates}),
            },
        ),  # noqa: E501
    },
)
dispenses = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "status": words,
            "authorizingPrescription": st.lists(references, max_size=2) | junk,
            "whenHandedOver": moments | words,
        },
    ),  # noqa: E501
    max_size=4,
)
messages = shaped("Communication", {"sent": moments | words, "sender": references | junk, "topic": concepts | junk})
known = st.dictionaries(
    st.sampled_from(["Practitioner/p1", "Location/l1", "Medication/m1"]),
    junk | contained.map(lambda c: c[0] if c else {}),
    max_size=3,
)  # noqa: E501
vendors = st.sampled_from(sorted(MAPPINGS))
property_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_flat(flat, resource: str) -> None:
    values = asdict(flat)
    assert tuple(values) == field_names(resource)
    for name, value in values.items():
        assert value is None or type(value) is TYPES[name], (name, value)
        if isinstance(value, str):
            assert value.strip() == value and value
    json.dumps(values)


@property_settings
@given(resource=patients | junk, vendor=vendors)
def test_any_patient_normalizes_to_the_schema_and_only_public_fields_leave(resource, vendor):
    before = copy.deepcopy(resource)
    patient = normalize_patient(resource, MAPPINGS[vendor])
    assert_flat(patient, "patient")
    assert tuple(patient.public()) == tuple(patient.as_dict()) == PATIENT_PUBLIC_FIELDS
    assert resource == before
    if patient.phone:
        assert patient.phone.startswith("+") and patient.phone[1:].isdigit()
    if patient.ssn_last4:
        assert len(patient.ssn_last4) == 4 and patient.ssn_last4.isdigit()


@property_settings
@given(resource=appointments | junk, vendor=vendors, known=known)
def test_any_appointment_normalizes_to_the_schema(resource, vendor, known):
    before = copy.deepcopy(resource)
    assert_flat(normalize_appointment(resource, MAPPINGS[vendor], tz=TZ, known=known), "appointment")
    assert all("/" in key for key in appointment_references(resource, MAPPINGS[vendor], known))
    assert resource == before


@property_settings
@given(resource=medications | junk, vendor=vendors, known=known, dispenses=dispenses | junk | st.none())
def test_any_medication_normalizes_to_the_schema(resource, vendor, known, dispenses):
    dispenses = dispenses if isinstance(dispenses, list) or dispenses is None else [dispenses]
    flat = normalize_medication(resource, MAPPINGS[vendor], today=TODAY, tz=TZ, dispenses=dispenses, known=known)
    assert_flat(flat, "medication")
    medication_references(resource, MAPPINGS[vendor], known)
    if flat.refill_eligible:
        assert flat.status == "active" and (flat.refills_remaining or 0) > 0


@property_settings
@given(resource=messages | junk, vendor=vendors, known=known)
def test_any_message_normalizes_to_the_schema(resource, vendor, known):
    assert_flat(normalize_message(resource, MAPPINGS[vendor], tz=TZ, known=known), "message")
    message_references(resource, MAPPINGS[vendor], known)


def test_missing_fields_come_out_null():
    for vendor, mapping in MAPPINGS.items():
        flats = [
            normalize_patient({"resourceType": "Patient"}, mapping),
            normalize_appointment({"resourceType": "Appointment"}, mapping, tz=TZ),
            normalize_medication({"resourceType": "MedicationRequest"}, mapping, today=TODAY, tz=TZ, dispenses=[]),
            normalize_message({"resourceType": "Communication"}, mapping, tz=TZ),
        ]
        for flat in flats:
            assert set(asdict(flat).values()) == {None}, (vendor, flat)
