"""Deterministic synthetic population: the same seed, size and day always give the same records."""

import random
from datetime import UTC, date, datetime, time, timedelta

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


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.salt = rng.getrandbits(48)
        self.counters: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        index = self.counters.get(prefix, 0)
        self.counters[prefix] = index + 1
        return f"{prefix}{((index * _ODD) ^ self.salt) & _MASK:012x}"


def generate(*, patients: int, seed: int, today: date | None = None) -> Population:
    """Build a population of `patients` people with their care records, and plant the hard cases."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    today = today or datetime.now(UTC).date()
    practitioners = _practitioners(rng, ids, max(12, patients // 50))
    locations = _locations(rng, ids)
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
    world = World(rng, ids, today, population)
    for index in range(patients):
        world.add_patient(index)
    population.hard_cases = plant_hard_cases(world)
    population.build_indexes()
    return population


def _address(rng: random.Random) -> Address:
    city, state, zip3 = rng.choice(vocab.CITIES)
    street = f"{rng.randint(10, 9899)} {rng.choice(vocab.STREETS)} {rng.choice(vocab.STREET_KINDS)}"
    return Address(line=street, city=city, state=state, postal_code=f"{zip3}{rng.randint(0, 99):02d}")


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(vocab.AREA_CODES)}555{rng.randint(0, 9999):04d}"


def _patient_phone(index: int) -> str:
    # A bijection of the index onto the number space: no two patients share a phone unless planted.
    slot = (index * 7_919 + 13) % (len(vocab.AREA_CODES) * 10_000)
    return f"+1{vocab.AREA_CODES[slot // 10_000]}555{slot % 10_000:04d}"


def _practitioners(rng: random.Random, ids: _Ids, count: int) -> dict[str, PractitionerRecord]:
    result = {}
    for _ in range(count):
        specialty, prefix = rng.choice(vocab.SPECIALTIES)
        given = rng.choice(vocab.FEMALE_GIVEN if rng.random() < 0.5 else vocab.MALE_GIVEN)
        record = PractitionerRecord(
            id=ids.next("pr"),
            npi=f"1{rng.randint(0, 999_999_999):09d}",
            given=given,
            family=rng.choice(vocab.FAMILY),
            prefix=prefix,
            specialty=specialty,
        )
        result[record.id] = record
    return result


def _locations(rng: random.Random, ids: _Ids) -> dict[str, LocationRecord]:
    result = {}
    for name in vocab.CLINICS:
        record = LocationRecord(id=ids.next("loc"), name=name, phone=_phone(rng), address=_address(rng))
        result[record.id] = record
    return result


def _medication(ids: _Ids, drug: tuple[str, str, str, str]) -> MedicationRecord:
    rxnorm, name, form, _sig = drug
    return MedicationRecord(id=ids.next("med"), rxnorm=rxnorm, name=name, form=form)


class World:
    """Adds one patient at a time with their appointments, prescriptions, fills and messages."""

    def __init__(self, rng: random.Random, ids: _Ids, today: date, population: Population) -> None:
        self.rng = rng
        self.ids = ids
        self.today = today
        self.population = population
        self.practitioner_ids = list(population.practitioners)
        self.location_ids = list(population.locations)
        self.medication_ids = list(population.medications)
        self.sigs = {m_id: drug[3] for m_id, drug in zip(self.medication_ids, vocab.DRUGS, strict=True)}

    def add_patient(self, index: int) -> None:
        rng = self.rng
        female = rng.random() < 0.52
        given = rng.choice(vocab.FEMALE_GIVEN if female else vocab.MALE_GIVEN)
        middle = rng.choice(vocab.FEMALE_GIVEN if female else vocab.MALE_GIVEN) if rng.random() < 0.6 else None
        age_days = int(rng.triangular(200, 95 * 365, 45 * 365))
        patient = PatientRecord(
            id=self.ids.next("p"),
            given=given,
            middle=middle,
            family=rng.choice(vocab.FAMILY),
            gender="female" if female else ("male" if rng.random() < 0.995 else "other"),
            birth_date=self.today - timedelta(days=age_days),
            mrn=str(1_000_000 + (index * 7_919 + 104_729) % 8_999_999),
            ssn=f"9{rng.randint(0, 99):02d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}",
            phone=_patient_phone(index) if rng.random() < 0.96 else None,
            address=_address(rng),
            preferred_name=vocab.PREFERRED.get(given) if rng.random() < 0.5 else None,
        )
        self.population.patients[patient.id] = patient
        primary = rng.choice(self.practitioner_ids)
        for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
            self._appointment(patient.id, primary)
        for _ in range(rng.choice((0, 1, 1, 2, 3, 4))):
            self._prescription(patient.id, primary)
        for _ in range(rng.choice((0, 1, 2, 3))):
            self._message(patient.id, primary)

    def _when(self, day_offset: int) -> datetime:
        minutes = self.rng.randrange(8 * 60, 17 * 60, 15)
        local = datetime.combine(self.today + timedelta(days=day_offset), time(minutes // 60, minutes % 60))
        return local.replace(tzinfo=UTC) + timedelta(hours=5)  # clinic hours in US Eastern, stored as UTC

    def add_appointment(self, patient_id: str, primary: str, *, offset: int, status: str) -> AppointmentRecord:
        return self._appointment(patient_id, primary, offset=offset, status=status)

    def _appointment(
        self, patient_id: str, primary: str, *, offset: int | None = None, status: str | None = None
    ) -> AppointmentRecord:
        rng = self.rng
        offset = rng.randint(-365, 120) if offset is None else offset
        if status is None and offset > 0:
            status = "cancelled" if rng.random() < 0.1 else "booked"
        elif status is None:
            status = rng.choices(("fulfilled", "cancelled", "noshow"), (85, 10, 5))[0]
        description, service = rng.choice(vocab.VISITS)
        record = AppointmentRecord(
            id=self.ids.next("ap"),
            patient_id=patient_id,
            practitioner_id=primary if rng.random() < 0.7 else rng.choice(self.practitioner_ids),
            location_id=rng.choice(self.location_ids),
            start=self._when(offset),
            minutes=rng.choice((15, 20, 30, 30, 45, 60)),
            status=status,
            description=description,
            service_type=service,
        )
        self.population.appointments[record.id] = record
        return record

    def add_prescription(self, patient_id: str, primary: str, *, status: str, allowed: int, fills: int):
        return self._prescription(patient_id, primary, status=status, allowed=allowed, fills=fills)

    def _prescription(
        self,
        patient_id: str,
        primary: str,
        *,
        status: str | None = None,
        allowed: int | None = None,
        fills: int | None = None,
    ) -> MedicationRequestRecord:
        rng = self.rng
        medication_id = rng.choice(self.medication_ids)
        authored = self.today - timedelta(days=rng.randint(5, 700) if fills is None else 30 * fills + 20)
        status = status or rng.choices(("active", "stopped", "completed"), (75, 15, 10))[0]
        allowed = rng.choice((0, 1, 2, 3, 3, 5, 11)) if allowed is None else allowed
        record = MedicationRequestRecord(
            id=self.ids.next("mr"),
            patient_id=patient_id,
            medication_id=medication_id,
            requester_id=primary,
            status=status,
            authored_on=authored,
            dosage=self.sigs[medication_id],
            refills_allowed=allowed,
            quantity=rng.choice((30, 60, 90)),
        )
        self.population.medication_requests[record.id] = record
        fills = rng.randint(0, allowed + 1) if fills is None else fills
        elapsed = max(1, (self.today - authored).days)
        for fill in range(fills):
            handed = authored + timedelta(days=min(elapsed - 1, fill * 30 + rng.randint(0, 3)))
            dispense = MedicationDispenseRecord(
                id=self.ids.next("md"),
                patient_id=patient_id,
                request_id=record.id,
                medication_id=medication_id,
                handed_over=datetime.combine(handed, time(15, 0), tzinfo=UTC),
                quantity=record.quantity,
            )
            self.population.medication_dispenses[dispense.id] = dispense
        return record

    def add_message(self, patient_id: str, primary: str) -> CommunicationRecord:
        return self._message(patient_id, primary)

    def _message(self, patient_id: str, primary: str) -> CommunicationRecord:
        rng = self.rng
        topic, text = rng.choice(vocab.MESSAGES)
        from_patient = topic.startswith("Question")
        patient_ref, clinician_ref = f"Patient/{patient_id}", f"Practitioner/{primary}"
        record = CommunicationRecord(
            id=self.ids.next("cm"),
            patient_id=patient_id,
            sender=patient_ref if from_patient else clinician_ref,
            recipient=clinician_ref if from_patient else patient_ref,
            sent=self._when(-rng.randint(0, 180)),
            topic=topic,
            text=text,
            status="completed",
        )
        self.population.communications[record.id] = record
        return record
