"""Identifiers for caller verification: MRN per vendor encoding, SSN last four, phone in E.164.

Nothing here stores a value; a full SSN handed in is reduced to its last four and dropped.
"""

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

import phonenumbers

_SSN_CHARS = re.compile(r"^[0-9xX*#•]{5,9}$")


@dataclass(frozen=True)
class Coding:
    system: str  # glob: Oracle Health code sets carry the tenant id, e.g. https://fhir.cerner.com/*/codeSet/4
    code: str


@dataclass(frozen=True)
class MrnRule:
    """How a vendor marks the MRN among a patient's identifiers (any one match is enough)."""

    type_texts: tuple[str, ...] = ()
    type_codings: tuple[Coding, ...] = ()
    systems: tuple[str, ...] = ()  # globs over Identifier.system
    search_system: str | None = None  # the system to put before "|" in an identifier search


def normalize_phone(raw: object, region: str = "US") -> str | None:
    """A phone number in E.164 (+15555550142), or None when it is not a possible number."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.removeprefix("tel:"), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def ssn_last4(raw: object) -> str | None:
    """The last four digits of an SSN given in full (123-45-6789) or masked (xxx-xx-6789, ***6789)."""
    if not isinstance(raw, str):
        return None
    compact = re.sub(r"[\s-]", "", raw)
    if not _SSN_CHARS.match(compact) or not compact[-4:].isdigit():
        return None
    return compact[-4:]


def _codings(identifier: dict) -> list[dict]:
    concept = identifier.get("type")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def is_mrn(identifier: object, rule: MrnRule) -> bool:
    if not isinstance(identifier, dict):
        return False
    concept = identifier.get("type")
    text = concept.get("text") if isinstance(concept, dict) else None
    if isinstance(text, str) and text.strip() in rule.type_texts:
        return True
    system = identifier.get("system")
    if isinstance(system, str) and any(fnmatchcase(system, pattern) for pattern in rule.systems):
        return True
    return any(
        isinstance(c.get("system"), str) and fnmatchcase(c["system"], want.system) and c.get("code") == want.code
        for c in _codings(identifier)
        for want in rule.type_codings
    )


def mrn_from_identifiers(identifiers: object, rule: MrnRule) -> str | None:
    """The value of the first identifier the rule marks as the MRN; a retired one (use=old) never counts."""
    if not isinstance(identifiers, list):
        return None
    for identifier in identifiers:
        if is_mrn(identifier, rule) and identifier.get("use") != "old":
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def mrn_search_token(mrn: str, rule: MrnRule) -> str:
    """The `identifier` search value for an MRN at this vendor (system|value, or the bare value)."""
    return f"{rule.search_system}|{mrn}" if rule.search_system else mrn
