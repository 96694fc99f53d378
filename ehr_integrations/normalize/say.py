"""Short speakable answers, one sentence per fact, in plain words and the health system's time zone.

Everything here goes straight to a TTS voice in front of a patient: people as they are introduced
("Dr. Anita Patel"), medicines as a pharmacist says them ("lisinopril 10 milligrams"), days relative
where natural ("tomorrow at 3:30 PM"), at most three names in a list, then "and two more". Each
function takes the flat objects or their dicts (as stored in the session), and never says more
than the data holds: a missing provider or place is left out, not invented.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ehr_integrations.normalize import spoken
from ehr_integrations.normalize.flat import Appointment, FlatPatient, Medication, Message
from ehr_integrations.normalize.spoken import number, plural, spoken_list
from ehr_integrations.normalize.spoken_medicines import SpokenMedicine, spoken_medicine
from ehr_integrations.normalize.spoken_time import spoken_day, spoken_moment

NOT_HAPPENING = {"cancelled", "noshow", "entered-in-error"}


def _get(item: object, name: str) -> object:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _text(item: object, name: str) -> str | None:
    value = _get(item, name)
    return value if isinstance(value, str) and value.strip() else None


def _moment(value: object, tz: ZoneInfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(tz) if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _sentences(*parts: str) -> str:
    """Sentences joined, each starting with a capital ("lisinopril can..." -> "Lisinopril can...")."""
    return " ".join(p[0].upper() + p[1:] + ("" if p.endswith((".", "?")) else ".") for p in parts if p)


def _visit(item: object, tz: ZoneInfo, now: datetime, *, on: bool = False, past: bool = False) -> str:
    """When, with whom and where; a past visit by its day and clinician only (the rest is no use to hear)."""
    moment = _moment(_get(item, "datetime"), tz)
    if past:
        words = spoken_day(moment, now, on=True) if moment else "on a day I can't see"
    else:
        words = spoken_moment(moment, now, on=on) if moment else "at a time I can't see"
    if provider := spoken.person(_text(item, "provider_name")):
        words += f" with {provider}"
    if not past and (place := spoken.place(_text(item, "location"))):
        words += f" at {place}"
    return words


def say_appointments(
    items: Sequence[Appointment | Mapping], tz: ZoneInfo, *, when: str | None = None, now: datetime | None = None
) -> str:
    """ "Your next appointment is tomorrow at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine." """
    now = (now or datetime.now(tz)).astimezone(tz)
    if when == "cancelled":
        return _say_cancelled(items, tz, now)
    moments = [_moment(_get(i, "datetime"), tz) for i in items]
    past = when == "past" or (when is None and bool(moments) and all(m and m < now for m in moments))
    kind = "past" if past else "upcoming"
    active = [i for i in items if _get(i, "status") not in NOT_HAPPENING]
    if not active and items:
        visit = _visit(items[0], tz, now, on=True, past=past)
        return _sentences(f"Your appointment {visit} was cancelled", f"I don't see any other {kind} appointments")
    if not active:
        return f"I don't see any {kind} appointments."
    first = _visit(active[0], tz, now, past=past)
    sentence = f"Your last appointment was {first}" if past else f"Your next appointment is {first}"
    others = len(active) - 1
    rest = (
        (f"I see {number(others)} more before that" if past else f"You have {number(others)} more after that")
        if others
        else ""
    )
    return _sentences(sentence, rest)


def _say_cancelled(items: Sequence[Appointment | Mapping], tz: ZoneInfo, now: datetime) -> str:
    """ "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen was cancelled." """
    if not items:
        return "I don't see any cancelled or missed appointments."
    verb = "was missed" if _get(items[0], "status") == "noshow" else "was cancelled"
    others = len(items) - 1
    rest = f"I see {plural(others, 'other cancelled or missed appointment')}" if others else ""
    return _sentences(f"Your appointment {_visit(items[0], tz, now, on=True)} {verb}", rest)


def _refills_of_one(item: object) -> str:
    remaining, eligible = _get(item, "refills_remaining"), _get(item, "refill_eligible")
    if eligible is None:
        return "I can't tell how many refills are left"
    if eligible:
        return f"It has {plural(remaining, 'refill')} left" if isinstance(remaining, int) else "It can be refilled"
    return "It has no refills left" if remaining == 0 else "It can't be refilled right now"


def _refill_state(group: list[object]) -> bool | None:
    """Prescriptions of one medicine: refillable if any is, unknown if any is unknown and none is."""
    states = [_get(item, "refill_eligible") for item in group]
    return True if True in states else None if None in states else False


def _distinct(items: Sequence[object]) -> list[tuple[object, SpokenMedicine]]:
    """One entry per medicine as said: two prescriptions of "lisinopril 40 milligrams" are one medicine."""
    groups: dict[str, tuple[SpokenMedicine, list[object]]] = {}
    for item in items:
        if medicine := spoken_medicine(_text(item, "name")):
            groups.setdefault(medicine.full, (medicine, []))[1].append(item)
    return [({"refill_eligible": _refill_state(group)}, medicine) for medicine, group in groups.values()]


def _short_names(named: list[tuple[object, SpokenMedicine]]) -> dict[int, str]:
    """Each medicine by its ingredient alone, unless another on the list shares it."""
    ingredients = [medicine.ingredient for _, medicine in named]
    return {
        index: medicine.ingredient if ingredients.count(medicine.ingredient) == 1 else medicine.full
        for index, (_, medicine) in enumerate(named)
    }


def _named_or_counted(names: list[str], verb: str) -> str:
    return f"{spoken_list(names)} {verb}" if len(names) <= 2 else f"{number(len(names))} of them {verb}"


def _refills_of_many(named: list[tuple[object, SpokenMedicine]]) -> str:
    short = _short_names(named)
    refillable = [short[i] for i, (item, _) in enumerate(named) if _get(item, "refill_eligible")]
    unknown = [short[i] for i, (item, _) in enumerate(named) if _get(item, "refill_eligible") is None]
    if len(unknown) == len(named):  # never "none can be refilled" when it is not known
        return "I can't tell right now whether they can be refilled"
    if not refillable:
        tail = "none of them can be refilled right now"
    elif len(refillable) == len(named):
        tail = "both can be refilled" if len(named) == 2 else "all of them can be refilled"
    elif len(refillable) > 2 and not unknown and len(named) - len(refillable) <= 2:
        kept = [short[i] for i, (item, _) in enumerate(named) if _get(item, "refill_eligible") is False]
        tail = f"all but {spoken_list(kept)} can be refilled"
    else:
        tail = _named_or_counted(refillable, "can be refilled")
    if unknown:
        return _sentences(
            tail, f"I can't tell for {unknown[0] if len(unknown) == 1 else spoken_list(unknown, at_most=2)}"
        )
    return tail


def say_medications(items: Sequence[Medication | Mapping]) -> str:
    """What the caller takes, named as a pharmacist would, and whether each can be refilled."""
    adjective = "active " if all(_get(i, "status") == "active" for i in items) else ""
    named = _distinct(items)
    if not named:
        return f"I don't see any {adjective}medications on your record."
    if len(named) == 1:
        only = [i for i in items if _text(i, "name")]
        refills = _refills_of_one(only[0] if len(only) == 1 else named[0][0])  # several: no one count of refills
        return _sentences(f"You have one {adjective}medication: {named[0][1].full}", refills)
    listed = spoken_list([medicine.full for _, medicine in named])
    return _sentences(f"Your {adjective}medications are {listed}", _refills_of_many(named))


def say_messages(items: Sequence[Message | Mapping], tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """How many recent messages there are, and who sent the newest, when, and about what."""
    if not items:
        return "I don't see any recent messages from your care team."
    now = (now or datetime.now(tz)).astimezone(tz)
    newest = items[0]
    origin = ""
    if sender := spoken.person(_text(newest, "sender")):
        origin += f" from {sender}"
    if moment := _moment(_get(newest, "sent_at"), tz):
        origin += f" {spoken_day(moment, now, on=True)}"
    subject = spoken.place(_text(newest, "subject"))
    about = f"Its subject is {subject}" if subject else ""
    if len(items) == 1:
        return _sentences(f"You have one recent message{origin}", about)
    count = f"You have {number(len(items))} recent messages"
    return _sentences(count, f"The newest is{origin}" if origin else "", about)


def say_patient(patient: FlatPatient | Mapping) -> str:
    """A greeting line that confirms who we have, with only the public fields."""
    name = spoken.patient_name(_text(patient, "given_name"), _text(patient, "family_name"))
    if not name:
        return "I couldn't find a name on your record."
    sentence = f"I have you as {name}"
    preferred = _text(patient, "preferred_name")
    if preferred and preferred != _get(patient, "given_name"):
        sentence += f", who goes by {spoken.natural_case(preferred)}"
    phone = _text(patient, "phone")
    ending = ""
    if phone and sum(c.isdigit() for c in phone) >= 4:
        ending = f"The phone number on your record ends in {spoken.digits(phone[-4:])}"
    return _sentences(sentence, ending)
