"""Deterministic synthetic population: the same seed, size and day always give the same records."""

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from typing import TypeVar

from ehr_integrations.sandbox import vocabulary as vocab
from ehr_integrations.sandbox.hard_cases import plant_hard_cases
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

_MASK = (1 << 48) - 1
_ODD = 0x9E3779B97F4B  # multiplying by an odd number modulo 2**48 is a bijection: ids never collide
T = TypeVar("T")


class Draw:
    """Fast draws from one seeded generator (random.choice/randint are several times slower)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def chance(self, probability: float) -> bool:
        return self.random() < probability


# Weighted choices as tuples to pick from uniformly.
PAST_STATUSES = ("fulfilled",) * 17 + ("cancelled", "cancelled", "noshow")
PRESCRIPTION_STATUSES = ("active",) * 15 + ("stopped",) * 3 + ("completed",) * 2


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.salt = rng.getrandbits(48)
        self.counters: dict[str, Iterator[int]] = defaultdict(count)

    def next(self, prefix: str) -> str:
        return f"{prefix}{((next(self.counters[prefix]) * _ODD) ^ self.salt) & _MASK:012x}"


def generate(*, patients: int, seed: int, today: date | None = None) -> Population:
    """Build a population of `patients` people with their care records, and plant the hard cases."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    draw = Draw(rng)
    today = today or datetime.now(UTC).date()
    practitioners = _practitioners(draw, ids, max(12, patients // 50))
    locations = _locations(draw, ids)
    medications = {m.id: m for m in (_medication(ids, drug) for drug in vocab.DRUGS)}
    population = Population(
        patients={},
        practitioners=practitioners,
        locations=locations,
        medications=medications,
        appointments={},
        medication_requests={},
        medication_dispenses={},
        communications={},
        hard_cases={},
    )
    world = World(draw, ids, today, population)
    for index in range(patients):
        world.add_patient(index)
    population.hard_cases = plant_hard_cases(world)
    population.build_indexes()
    return population


def _address(draw: Draw) -> Address:
    city, state, zip3 = draw.pick(vocab.CITIES)
    street = f"{draw.between(10, 9899)} {draw.pick(vocab.STREETS)} {draw.pick(vocab.STREET_KINDS)}"
    return Address(line=street, city=city, state=state, postal_code=f"{zip3}{draw.between(0, 99):02d}")


def _phone(draw: Draw) -> str:
    return f"+1{draw.pick(vocab.AREA_CODES)}555{draw.between(0, 9999):04d}"


def _patient_phone(index: int) -> str:
    # A bijection of the index onto the number space: no two patients share a phone unless planted.
    slot = (index * 7_919 + 13) % (len(vocab.AREA_CODES) * 10_000)
    return f"+1{vocab.AREA_CODES[slot // 10_000]}555{slot % 10_000:04d}"


def _practitioners(draw: Draw, ids: _Ids, count: int) -> dict[str, PractitionerRecord]:
    result = {}
    for _ in range(count):
        specialty, prefix = draw.pick(vocab.SPECIALTIES)
        given = draw.pick(vocab.FEMALE_GIVEN if draw.chance(0.5) else vocab.MALE_GIVEN)
        record = PractitionerRecord(
            id=ids.next("pr"),
            npi=f"1{draw.between(0, 999_999_999):09d}",
            given=given,
            family=draw.pick(vocab.FAMILY),
            prefix=prefix,
            specialty=specialty,
        )
        result[record.id] = record
    return result


def _locations(draw: Draw, ids: _Ids) -> dict[str, LocationRecord]:
    result = {}
    for name in vocab.CLINICS:
        record = LocationRecord(id=ids.next("loc"), name=name, phone=_phone(draw), address=_address(draw))
        result[record.id] = record
    return result


def _medication(ids: _Ids, drug: tuple[str, str, str, str]) -> MedicationRecord:
    rxnorm, name, form, _sig = drug
    return MedicationRecord(id=ids.next("med"), rxnorm=rxnorm, name=name, form=form)


class World:
    """Adds one patient at a time with their appointments, prescriptions, fills and messages."""

    def __init__(self, draw: Draw, ids: _Ids, today: date, population: Population) -> None:
        self.rng = draw
        self.ids = ids
        self.today = today
        self.midnight = datetime.combine(today, time(0, 0), tzinfo=UTC)
        self.population = population
        self.practitioner_ids = list(population.practitioners)
        self.location_ids = list(population.locations)
        self.medication_ids = list(population.medications)
        self.sigs = {m_id: drug[3] for m_id, drug in zip(self.medication_ids, vocab.DRUGS, strict=True)}

    def add_patient(self, index: int) -> None:
        rng = self.rng
        female = rng.chance(0.52)
        names = vocab.FEMALE_GIVEN if female else vocab.MALE_GIVEN
        given = rng.pick(names)
        age_days = int(rng.rng.triangular(200, 95 * 365, 45 * 365))
        patient = PatientRecord(
            id=self.ids.next("p"),
            given=given,
            middle=rng.pick(names) if rng.chance(0.6) else None,
            family=rng.pick(vocab.FAMILY),
            gender="female" if female else ("male" if rng.chance(0.995) else "other"),
            birth_date=self.today - timedelta(days=age_days),
            mrn=str(1_000_000 + (index * 7_919 + 104_729) % 8_999_999),
            ssn=f"9{rng.between(0, 99):02d}-{rng.between(1, 99):02d}-{rng.between(1, 9999):04d}",
            phone=_patient_phone(index) if rng.chance(0.96) else None,
            address=_address(rng),
            preferred_name=vocab.PREFERRED.get(given) if rng.chance(0.5) else None,
        )
        self.population.patients[patient.id] = patient
        primary = rng.pick(self.practitioner_ids)
        for _ in range(rng.pick((0, 1, 2, 2, 3, 4))):
            self._appointment(patient.id, primary)
        for _ in range(rng.pick((0, 1, 1, 2, 3, 4))):
            self._prescription(patient.id, primary)
        for _ in range(rng.pick((0, 1, 2, 3))):
            self._message(patient.id, primary)

    def _when(self, day_offset: int) -> datetime:
        # Clinic hours 8:00-17:00 US Eastern (UTC+5 hours), on the quarter hour, stored as UTC.
        minutes = 8 * 60 + 15 * self.rng.between(0, 35) + 5 * 60
        return self.midnight + timedelta(days=day_offset, minutes=minutes)

    def add_appointment(self, patient_id: str, primary: str, *, offset: int, status: str) -> AppointmentRecord:
        return self._appointment(patient_id, primary, offset=offset, status=status)

    def _appointment(
        self, patient_id: str, primary: str, *, offset: int | None = None, status: str | None = None
    ) -> AppointmentRecord:
        rng = self.rng
        offset = rng.between(-365, 120) if offset is None else offset
        if status is None and offset > 0:
            status = "cancelled" if rng.chance(0.1) else "booked"
        elif status is None:
            status = rng.pick(PAST_STATUSES)
        description, service = rng.pick(vocab.VISITS)
        record = AppointmentRecord(
            id=self.ids.next("ap"),
            patient_id=patient_id,
            practitioner_id=primary if rng.chance(0.7) else rng.pick(self.practitioner_ids),
            location_id=rng.pick(self.location_ids),
            start=self._when(offset),
            minutes=rng.pick((15, 20, 30, 30, 45, 60)),
            status=status,
            description=description,
            service_type=service,
        )
        self.population.appointments[record.id] = record
        return record

    def add_prescription(
        self, patient_id: str, primary: str, *, status: str, allowed: int, fills: int, rxnorm: str | None = None
    ) -> MedicationRequestRecord:
        medication_id = next((m.id for m in self.population.medications.values() if m.rxnorm == rxnorm), None)
        return self._prescription(
            patient_id, primary, status=status, allowed=allowed, fills=fills, medication_id=medication_id
        )

    def _prescription(
        self,
        patient_id: str,
        primary: str,
        *,
        status: str | None = None,
        allowed: int | None = None,
        fills: int | None = None,
        medication_id: str | None = None,
    ) -> MedicationRequestRecord:
        rng = self.rng
        medication_id = medication_id or rng.pick(self.medication_ids)
        age_days = rng.between(5, 700) if fills is None else 30 * fills + 20
        authored = self.today - timedelta(days=age_days)
        status = status or rng.pick(PRESCRIPTION_STATUSES)
        allowed = rng.pick((0, 1, 2, 3, 3, 5, 11)) if allowed is None else allowed
        record = MedicationRequestRecord(
            id=self.ids.next("mr"),
            patient_id=patient_id,
            medication_id=medication_id,
            requester_id=primary,
            status=status,
            authored_on=authored,
            dosage=self.sigs[medication_id],
            refills_allowed=allowed,
            quantity=rng.pick((30, 60, 90)),
        )
        self.population.medication_requests[record.id] = record
        fills = rng.between(0, allowed + 1) if fills is None else fills
        authored_at = self.midnight - timedelta(days=age_days, hours=-15)  # filled at 15:00 UTC
        for fill in range(fills):
            dispense = MedicationDispenseRecord(
                id=self.ids.next("md"),
                patient_id=patient_id,
                request_id=record.id,
                medication_id=medication_id,
                handed_over=authored_at + timedelta(days=min(age_days - 1, fill * 30 + rng.between(0, 3))),
                quantity=record.quantity,
            )
            self.population.medication_dispenses[dispense.id] = dispense
        return record

    def add_message(self, patient_id: str, primary: str) -> CommunicationRecord:
        return self._message(patient_id, primary)

    def _message(self, patient_id: str, primary: str) -> CommunicationRecord:
        rng = self.rng
        topic, text = rng.pick(vocab.MESSAGES)
        from_patient = topic.startswith("Question")
        patient_ref, clinician_ref = f"Patient/{patient_id}", f"Practitioner/{primary}"
        record = CommunicationRecord(
            id=self.ids.next("cm"),
            patient_id=patient_id,
            sender=patient_ref if from_patient else clinician_ref,
            recipient=clinician_ref if from_patient else patient_ref,
            sent=self._when(-rng.between(0, 180)),
            topic=topic,
            text=text,
            status="completed",
        )
        self.population.communications[record.id] = record
        return record
