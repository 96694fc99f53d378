"""Each preset over its vendor's flavour of the same sandbox patients gives the same flat objects."""

import pytest

from ehr_integrations.normalize.appointments import normalize_appointment
from ehr_integrations.normalize.medications import normalize_medication
from ehr_integrations.normalize.messages import normalize_message
from ehr_integrations.normalize.patient import normalize_patient
from tests.ehr_integrations.golden import FLAVOURS, TODAY, dispenses, population, render, site_mapping


def _across_flavours(make) -> dict:
    return {flavour: make(flavour) for flavour in FLAVOURS}


def test_patients_are_identical_across_flavours_and_match_the_ground_truth():
    for truth in population().patients.values():
        flat = _across_flavours(lambda f, p=truth: normalize_patient(render(f, "Patient", p), site_mapping(f)))
        assert flat["epic"].public() == flat["oracle_health"].public() == flat["generic"].public()
        for patient in flat.values():
            assert patient.id == truth.id
            assert (patient.given_name, patient.family_name) == (truth.given, truth.family)
            assert patient.preferred_name == truth.preferred_name
            assert patient.phone == truth.phone
            assert patient.birth_date == truth.birth_date.isoformat()
            assert patient.mrn == truth.mrn
        # Oracle Health never gives the SSN; the others give it masked (Epic) or in full (generic).
        assert flat["epic"].ssn_last4 == flat["generic"].ssn_last4 == truth.ssn_last4
        assert flat["oracle_health"].ssn_last4 is None


def test_appointments_are_identical_across_flavours():
    mapping_tz = site_mapping("epic").tz
    for record in population().appointments.values():
        flat = _across_flavours(
            lambda f, r=record: normalize_appointment(render(f, "Appointment", r), site_mapping(f), tz=mapping_tz)
        )
        assert flat["epic"] == flat["oracle_health"] == flat["generic"]
        appointment = flat["epic"]
        assert appointment.datetime == record.start.astimezone(mapping_tz).isoformat()
        assert appointment.location == population().locations[record.location_id].name
        assert appointment.provider_name and population().practitioners[record.practitioner_id].family in (
            appointment.provider_name
        )
        assert (appointment.status, appointment.description) == (record.status, record.description)


def test_medications_are_identical_across_flavours_with_refills_counted_from_dispenses():
    world = population()
    for request in world.medication_requests.values():

        def normalized(flavour, request=request):
            fhir = render(flavour, "MedicationRequest", request)
            mapping = site_mapping(flavour)
            return normalize_medication(fhir, mapping, today=TODAY, tz=mapping.tz, dispenses=dispenses(flavour))

        flat = _across_flavours(normalized)
        assert flat["epic"] == flat["oracle_health"] == flat["generic"]
        medication = flat["epic"]
        assert medication.name == world.medications[request.medication_id].name
        assert medication.refills_remaining == world.refills_remaining(request)
        assert medication.refill_eligible == (request.status == "active" and world.refills_remaining(request) > 0)
        assert medication.dosage == request.dosage
        assert world.practitioners[request.requester_id].family in medication.prescriber_name


def test_messages_are_identical_across_flavours():
    for record in population().communications.values():
        flat = _across_flavours(
            lambda f, r=record: normalize_message(render(f, "Communication", r), site_mapping(f), tz=site_mapping(f).tz)
        )
        assert flat["epic"] == flat["oracle_health"] == flat["generic"]
        assert (flat["epic"].subject, flat["epic"].status) == (record.topic, record.status)
        assert flat["epic"].sender


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_hard_cases_come_out_as_they_are_in_the_record(flavour):
    world = population()
    cases = world.hard_cases
    mapping = site_mapping(flavour)
    no_phone = normalize_patient(render(flavour, "Patient", world.patients[cases["no_phone"]]), mapping)
    assert no_phone.phone is None and no_phone.given_name
    cancelled = world.appointments[cases["cancelled_appointment"]]
    assert (
        normalize_appointment(render(flavour, "Appointment", cancelled), mapping, tz=mapping.tz).status == "cancelled"
    )
    for case, remaining, eligible in (
        ("refills_left", 3, True),
        ("no_refills", 0, False),
        ("stopped_medication", 1, False),
    ):
        fhir = render(flavour, "MedicationRequest", world.medication_requests[cases[case]])
        medication = normalize_medication(fhir, mapping, today=TODAY, tz=mapping.tz, dispenses=dispenses(flavour))
        assert (medication.refills_remaining, medication.refill_eligible) == (remaining, eligible), case
        assert medication.last_filled is not None
