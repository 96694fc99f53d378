"""Parsing and comparing FHIR search values: strings, tokens, references and dates with prefixes."""

import unicodedata
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


class BadSearchValue(ValueError):
    pass


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Case- and accent-insensitive form (FHIR string search)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def string_matches(candidates: list[str], value: str, modifier: str) -> bool:
    if modifier == "exact":
        return value in candidates
    wanted = fold(value)
    if modifier == "contains":
        return any(wanted in fold(c) for c in candidates)
    return any(fold(c).startswith(wanted) for c in candidates)


def _split(value: str, separator: str, *, keep: str = "", maxsplit: int = -1) -> list[str]:
    """Split on unescaped `separator` (FHIR R4 search, "Escaping"); escapes are made literal, except
    those of the characters in `keep`, which stay escaped for a later split."""
    parts, current, chars = [], [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append("\\" + following if following in keep and following else following or "\\")
        elif char == separator and maxsplit != 0:
            parts.append("".join(current))
            current, maxsplit = [], maxsplit - 1
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def alternatives(value: str) -> list[str]:
    """The OR alternatives of a parameter value: split on unescaped commas (an escaped `|` stays for `token`)."""
    return [part for part in _split(value, ",", keep="|\\") if part]


def token(value: str) -> tuple[str | None, str]:
    """`system|code` -> (system, code); `code` -> (None, code); `|code` -> ("", code); `\\|` is a literal pipe."""
    parts = _split(value, "|", maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def reference_id(value: str, resource_type: str) -> str:
    """The id in `Patient/123`, `123` or `http://x/fhir/Patient/123` for the expected type ('' if another)."""
    parts = value.rstrip("/").split("/")
    if len(parts) == 1:
        return parts[0]
    return parts[-1] if parts[-2] == resource_type else ""


def date_range(value: str) -> tuple[str, datetime, datetime]:
    """(prefix, start, end) of a date search value, the range its precision implies, in UTC."""
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    text = value[2:] if value[:2] in DATE_PREFIXES else value
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1, tzinfo=UTC)
            return prefix, start, start.replace(year=start.year + 1)
        if len(text) == 7:
            start = datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
            end = (start + timedelta(days=32)).replace(day=1)
            return prefix, start, end
        if len(text) == 10:
            start = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
            return prefix, start, start + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return prefix, moment, moment + timedelta(seconds=1)
    except ValueError as exc:
        raise BadSearchValue(f"not a FHIR date: {value!r}") from exc


def date_matches(moment: datetime, value: str) -> bool:
    """Whether an instant satisfies a date search value (FHIR R4 date search semantics for a point)."""
    prefix, start, end = date_range(value)
    return {
        "eq": start <= moment < end,
        "ne": not start <= moment < end,
        "gt": moment >= end,
        "sa": moment >= end,
        "ge": moment >= start,
        "lt": moment < start,
        "eb": moment < start,
        "le": moment < end,
    }[prefix]


def day_matches(day: date, value: str) -> bool:
    return date_matches(datetime.combine(day, datetime.min.time(), tzinfo=UTC), value)


def phone_digits(value: str) -> str:
    """The last ten digits of a phone number in any format (US numbers)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits[-10:]
