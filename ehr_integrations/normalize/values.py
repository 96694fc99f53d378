"""Turn FHIRPath results into the flat schema's plain values. Anything unexpected becomes None."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def concept_text(value: object) -> str | None:
    """The words of a CodeableConcept (text, else the first coding's display), a Coding, or a string."""
    if isinstance(value, str):
        return value.strip() or None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("text"), str) and value["text"].strip():
        return value["text"].strip()
    if isinstance(value.get("display"), str) and value["display"].strip():
        return value["display"].strip()
    codings = value.get("coding")
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict) and isinstance(coding.get("display"), str) and coding["display"].strip():
            return coding["display"].strip()
    return None


def text(values: list) -> str | None:
    """The first non-empty words among the results."""
    for value in values:
        words = concept_text(value)
        if words:
            return words
    return None


def code(values: list) -> str | None:
    """The first plain string result (ids and status codes are never taken from nested objects)."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def full_date(values: list) -> str | None:
    """The first complete date (YYYY-MM-DD); a partial date cannot verify anyone and is dropped."""
    for value in values:
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                continue
    return None


def moment(values: list, tz: ZoneInfo) -> datetime | None:
    """The first date-time, in the health system's zone. A value without an offset is read as local
    time of the health system (its own EHR wrote it); a bare date has no time and is not a moment."""
    for value in values:
        if not isinstance(value, str) or not _DATETIME.match(value):
            continue
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            continue
        return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
    return None


def instant(values: list, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the health system's UTC offset, to the second."""
    found = moment(values, tz)
    return found.replace(microsecond=0).isoformat() if found else None


def local_date(values: list, tz: ZoneInfo) -> str | None:
    """The calendar day (YYYY-MM-DD) of a date-time in the health system's zone, or a plain date."""
    found = moment(values, tz)
    return found.date().isoformat() if found else full_date(values)


def count(values: list) -> int | None:
    """The first non-negative whole number."""
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())  # "²" is a digit to str.isdigit, not to int()
    return None


def flag(values: list) -> bool | None:
    for value in values:
        if isinstance(value, bool):
            return value
    return None
