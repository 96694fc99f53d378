"""Schedules, free slots and the appointments clients book in this sandbox (issue 22), in memory.

The first PROVIDERS practitioners each have a Schedule at their usual location. Slots are 30 minutes:
every half hour for the first SOON_HOURS from the moment the sandbox (re)starts, whatever the hour
(so that lead-time rules always have a slot to refuse), then clinic hours on weekdays for DAYS days.
Each clinic slot serves one visit type (service type code) in turn; the early ones serve all.
A booking adds an AppointmentRecord to the population (searched and read like any other) and marks
its slot busy; a cancel frees it. A reset (control.py) forgets every booking and cancel.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import AppointmentRecord

SERVICE_TYPE_SYSTEM = "http://sandbox.example.org/fhir/CodeSystem/visit-type"
VISIT_TYPES = {"follow-up": "Follow-up visit", "new-patient": "New patient visit", "physical": "Annual physical"}
PROVIDERS = 3
SLOT_MINUTES = 30
SOON_HOURS = 4
DAYS = 70
CLINIC_TZ = ZoneInfo("America/New_York")
CLINIC_HOURS = (8, 17)  # opening and closing hour, clinic time


@dataclass
class Slot:
    id: str
    schedule_id: str
    start: datetime
    service_types: tuple[str, ...]
    status: str = "free"  # free or busy

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=SLOT_MINUTES)


@dataclass(frozen=True)
class Schedule:
    id: str
    practitioner_id: str
    location_id: str


@dataclass
class ScheduleStore:
    schedules: dict[str, Schedule] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    booked: dict[str, dict] = field(default_factory=dict)  # appointment id -> {"identifier", "slot"}
    _replaced: dict[str, AppointmentRecord] = field(default_factory=dict)  # originals of cancelled ones
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    misbook_next: bool = False  # the next booking is stored as proposed (control: schedule/quirk)
    holds: dict[str, tuple[str, float]] = field(default_factory=dict)  # slot -> (patient, until): Epic's $hold

    def generate(self, population: Population, now: datetime | None = None) -> None:
        """Schedules for the first practitioners, and their slots from now on."""
        now = now or datetime.now(UTC)
        self.schedules.clear()
        self.slots.clear()
        usual_location = {a.practitioner_id: a.location_id for a in population.appointments.values()}
        for practitioner_id in sorted(population.practitioners)[:PROVIDERS]:
            location_id = usual_location.get(practitioner_id) or sorted(population.locations)[0]
            schedule = Schedule(f"schedule-{practitioner_id}", practitioner_id, location_id)
            self.schedules[schedule.id] = schedule
            for n, (start, types) in enumerate(_slot_times(now)):
                slot_id = f"slot-{practitioner_id}-{n}"
                self.slots[slot_id] = Slot(slot_id, schedule.id, start, types)

    def book(self, population: Population, slot: Slot, *, patient_id: str, identifier: list, label: str) -> str:
        """A booked appointment in that slot for that patient (the caller checked the slot); its id."""
        schedule = self.schedules[slot.schedule_id]
        appointment_id = f"appointment-b{next(self._ids)}"
        record = AppointmentRecord(
            appointment_id, patient_id, schedule.practitioner_id, schedule.location_id, slot.start,
            SLOT_MINUTES, "proposed" if self.misbook_next else "booked", label, label,
        )  # fmt: skip
        self.misbook_next = False
        population.appointments[appointment_id] = record
        population.appointments_of[patient_id].append(appointment_id)
        created = datetime.now(UTC).isoformat(timespec="microseconds")
        self.booked[appointment_id] = {"identifier": identifier, "slot": slot.id, "created": created}
        slot.status = "busy"
        return appointment_id

    def cancel(self, population: Population, appointment_id: str) -> None:
        record = population.appointments[appointment_id]
        self._replaced.setdefault(appointment_id, record)
        population.appointments[appointment_id] = record._replace(status="cancelled")
        slot = self.slots.get(self.booked.get(appointment_id, {}).get("slot", ""))
        if slot is not None and not self.holders(slot.id):
            slot.status = "free"

    def holders(self, slot_id: str) -> list[str]:
        """The booked (not cancelled) appointments of this sandbox in that slot."""
        return [
            appointment_id
            for appointment_id, extra in self.booked.items()
            if extra["slot"] == slot_id and appointment_id not in self._replaced
        ]

    def with_identifier(self, token: str) -> list[str]:
        system, bar, value = token.partition("|")
        return [
            appointment_id
            for appointment_id, extra in self.booked.items()
            if any(i.get("value") == (value if bar else token) and (not bar or i.get("system") == system)
                   for i in extra["identifier"])
        ]  # fmt: skip

    def reset(self, population: Population) -> None:
        """Every booking and cancel undone, and fresh slots from now."""
        for appointment_id in self.booked:
            record = population.appointments.pop(appointment_id, None)
            if record is not None:
                population.appointments_of[record.patient_id].remove(appointment_id)
        population.appointments.update({k: v for k, v in self._replaced.items() if k not in self.booked})
        self.booked.clear()
        self._replaced.clear()
        self.misbook_next = False
        self.holds.clear()
        self.generate(population)

    def public(self) -> dict:
        return {
            "slots": [
                {"id": s.id, "schedule": s.schedule_id, "start": s.start.isoformat(), "status": s.status}
                for s in self.slots.values()
                if s.status == "busy"
            ],
            "booked": [{"id": k, "slot": v["slot"], "cancelled": k in self._replaced} for k, v in self.booked.items()],
            "schedules": [vars(s) for s in self.schedules.values()],
        }


def _slot_times(now: datetime) -> list[tuple[datetime, tuple[str, ...]]]:
    every = tuple(VISIT_TYPES)
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    times = [(first + timedelta(minutes=SLOT_MINUTES * i), every) for i in range(SOON_HOURS * 60 // SLOT_MINUTES)]
    soon_end = times[-1][0]
    today = now.astimezone(CLINIC_TZ).date()
    n = 0
    for day in (today + timedelta(days=d) for d in range(DAYS)):
        if day.weekday() >= 5:
            continue
        opens = datetime(day.year, day.month, day.day, CLINIC_HOURS[0], tzinfo=CLINIC_TZ)
        for k in range(CLINIC_HOURS[1] * 60 // SLOT_MINUTES - CLINIC_HOURS[0] * 60 // SLOT_MINUTES):
            start = (opens + timedelta(minutes=SLOT_MINUTES * k)).astimezone(UTC)
            if start > soon_end:
                times.append((start, (every[n % len(every)],)))
                n += 1
    return times
