"""The synthetic population: deterministic from the seed, realistic, with the hard cases, and fast."""

import time
from datetime import date

from ehr_integrations.sandbox.generate import generate


def test_the_same_seed_gives_the_same_population_and_another_seed_does_not():
    first = generate(patients=300, seed=11, today=date(2025, 6, 1))
    again = generate(patients=300, seed=11, today=date(2025, 6, 1))
    other = generate(patients=300, seed=12, today=date(2025, 6, 1))

    assert first.ground_truth() == again.ground_truth()
    assert list(first.appointments.values()) == list(again.appointments.values())
    assert first.ground_truth() != other.ground_truth()


def test_ground_truth_fields_are_realistic():
    population = generate(patients=500, seed=3, today=date(2025, 6, 1))
    truth = population.ground_truth()

    assert len({p["id"] for p in truth}) == len({p["mrn"] for p in truth}) == 500
    assert all(len(p["ssn_last4"]) == 4 and p["ssn_last4"].isdigit() for p in truth)
    phones = [p["phone"] for p in truth if p["phone"]]
    assert all(phone.startswith("+1") and len(phone) == 12 for phone in phones)
    assert 0.9 < len(phones) / len(truth) < 1.0
    assert all("1930-01-01" <= p["birth_date"] <= "2025-06-01" for p in truth)
    assert {"female", "male"} <= {p["gender"] for p in truth}


def test_hard_cases_are_what_they_claim():
    population = generate(patients=50, seed=5, today=date(2025, 6, 1))
    cases = population.hard_cases
    patients = population.patients
    first, second = (patients[i] for i in cases["shared_name_and_birth_date"])
    no_refills = population.medication_requests[cases["no_refills"]]

    assert (first.given, first.family, first.birth_date) == (second.given, second.family, second.birth_date)
    assert first.mrn != second.mrn
    assert patients[cases["no_phone"]].phone is None
    assert len({patients[i].phone for i in cases["shared_phone"]}) == 1
    assert population.appointments[cases["cancelled_appointment"]].status == "cancelled"
    assert population.appointments[cases["past_appointment"]].start.date() < date(2025, 6, 1)
    assert no_refills.status == "active" and population.refills_remaining(no_refills) == 0
    assert population.refills_remaining(population.medication_requests[cases["refills_left"]]) == 3


def test_a_hundred_thousand_patients_generate_in_under_a_minute():
    # CPU time, not wall time: the test boxes are shared, and waiting for a core is not our cost.
    started = time.process_time()
    population = generate(patients=100_000, seed=7)
    elapsed = time.process_time() - started

    assert len(population.patients) == 100_000
    assert elapsed < 60, elapsed
