"""One short speakable sentence per answer, in plain words and the health system's time zone.

Each function takes the flat objects or their dicts (as stored in the session), and never says
more than the data holds: a missing provider or place is left out, not invented.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ehr_integrations.normalize.flat import Appointment, FlatPatient, Medication, Message

NOT_HAPPENING = {"cancelled", "noshow", "entered-in-error"}


def _get(item: object, name: str) -> object:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _moment(value: object, tz: ZoneInfo) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(tz) if parsed.tzinfo else parsed.replace(tzinfo=tz)


def ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


RELATIVE_DAYS = {0: "today", 1: "tomorrow", -1: "yesterday"}


def spoken_day(moment: datetime, now: datetime, *, on: bool = False) -> str:
    """ "today", "tomorrow", or "(on) Tuesday, December 2nd" (with the year when it is not this one)."""
    relative = RELATIVE_DAYS.get((moment.date() - now.date()).days)
    if relative:
        return relative
    day = f"{moment:%A}, {moment:%B} {ordinal(moment.day)}"
    day = day if moment.year == now.year else f"{day}, {moment.year}"
    return f"on {day}" if on else day


def spoken_time(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'AM' if moment.hour < 12 else 'PM'}"


def spoken_list(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _visit(item: object, tz: ZoneInfo, now: datetime, *, on: bool = False) -> str:
    moment = _moment(_get(item, "datetime"), tz)
    words = f"{spoken_day(moment, now, on=on)} at {spoken_time(moment)}" if moment else "at a time I can't see"
    if _get(item, "provider_name"):
        words += f" with {_get(item, 'provider_name')}"
    if _get(item, "location"):
        words += f" at {_get(item, 'location')}"
    return words


def say_appointments(
    items: Sequence[Appointment | Mapping], tz: ZoneInfo, *, when: str | None = None, now: datetime | None = None
) -> str:
    """ "Your next appointment is Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen at Riverside Family Medicine." """
    now = (now or datetime.now(tz)).astimezone(tz)
    if when == "cancelled":
        return _say_cancelled(items, tz, now)
    moments = [_moment(_get(i, "datetime"), tz) for i in items]
    past = when == "past" or (when is None and bool(moments) and all(m and m < now for m in moments))
    kind = "past" if past else "upcoming"
    active = [i for i in items if _get(i, "status") not in NOT_HAPPENING]
    if not active and items:
        visit = _visit(items[0], tz, now, on=True)
        return f"Your appointment {visit} was cancelled, and I don't see any other {kind} appointments."
    if not active:
        return f"I don't see any {kind} appointments."
    first = _visit(active[0], tz, now)
    sentence = f"Your most recent appointment was {first}" if past else f"Your next appointment is {first}"
    others = len(active) - 1
    if others:
        sentence += f", and you have {others} more {'before' if past else 'after'} that"
    return sentence + "."


def _say_cancelled(items: Sequence[Appointment | Mapping], tz: ZoneInfo, now: datetime) -> str:
    """ "Your appointment on Tuesday, December 2nd at 3:30 PM with Dr. Lily Chen was cancelled." """
    if not items:
        return "I don't see any cancelled or missed appointments."
    first = _get(items[0], "status")
    verb = "was missed" if first == "noshow" else "was cancelled"
    sentence = f"Your appointment {_visit(items[0], tz, now, on=True)} {verb}"
    others = len(items) - 1
    if others:
        sentence += f", and {_plural(others, 'other')} {'was' if others == 1 else 'were'} cancelled or missed too"
    return sentence + "."


def _refills(item: object) -> str:
    remaining, eligible = _get(item, "refills_remaining"), _get(item, "refill_eligible")
    if eligible is None:
        return "and I can't tell how many refills are left"
    if eligible:
        return f"with {_plural(remaining, 'refill')} left" if isinstance(remaining, int) else "and it can be refilled"
    return "with no refills left" if remaining == 0 else "and it can't be refilled right now"


def say_medications(items: Sequence[Medication | Mapping]) -> str:
    """What the caller takes and whether each can be refilled."""
    named = [i for i in items if _get(i, "name")]
    all_active = all(_get(i, "status") == "active" for i in items)
    adjective = "active " if all_active else ""
    if not named:
        return f"I don't see any {adjective}medications on your record."
    if len(named) == 1:
        return f"You have one {adjective}medication, {_get(named[0], 'name')}, {_refills(named[0])}."
    names = spoken_list([str(_get(i, "name")) for i in named])
    refillable = [str(_get(i, "name")) for i in named if _get(i, "refill_eligible")]
    unknown = [str(_get(i, "name")) for i in named if _get(i, "refill_eligible") is None]
    if len(unknown) == len(named):  # never "none can be refilled" when it is not known
        tail = "I can't tell right now whether they can be refilled"
    elif not refillable:
        tail = "none of them can be refilled right now"
    elif len(refillable) == len(named):
        tail = "all of them can be refilled"
    else:
        tail = f"{spoken_list(refillable)} can be refilled"
    if unknown and len(unknown) < len(named):
        tail += f", and I can't tell for {spoken_list(unknown)}"
    return f"You have {len(named)} {adjective}medications: {names}; {tail}."


def say_messages(items: Sequence[Message | Mapping], tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """How many recent messages there are, and who sent the newest, when, and about what."""
    if not items:
        return "I don't see any recent messages from your care team."
    now = (now or datetime.now(tz)).astimezone(tz)
    newest = items[0]
    words = ""
    if _get(newest, "sender"):
        words += f" from {_get(newest, 'sender')}"
    moment = _moment(_get(newest, "sent_at"), tz)
    if moment:
        words += f" {spoken_day(moment, now, on=True)}"
    if _get(newest, "subject"):
        words += f" about {_get(newest, 'subject')}"
    if len(items) == 1:
        return f"You have one recent message{words}."
    return f"You have {len(items)} recent messages; the newest is{words or ' one I cannot describe'}."


def say_patient(patient: FlatPatient | Mapping) -> str:
    """A greeting line that confirms who we have, with only the public fields."""
    name = " ".join(str(n) for n in (_get(patient, "given_name"), _get(patient, "family_name")) if n)
    if not name:
        return "I couldn't find a name on your record."
    sentence = f"I have you as {name}"
    preferred = _get(patient, "preferred_name")
    if preferred and preferred != _get(patient, "given_name"):
        sentence += f", who goes by {preferred}"
    phone = _get(patient, "phone")
    if isinstance(phone, str) and len(phone) >= 4:
        sentence += f", with a phone number ending in {phone[-4:]}"
    return sentence + "."
