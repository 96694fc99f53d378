"""Does a candidate patient satisfy what the caller said? Constant-time, and blind to which factor failed."""

import hmac

from compliance.phi_logging import sensitive_phi
from ehr_integrations.fhir.patient_search import extra_identifiers_needed
from ehr_integrations.identity import normalize_phone
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.names import name_key
from ehr_integrations.presets import Preset

NAME_FACTORS = frozenset({"family_name", "given_name"})
# Identifier the caller gives -> attribute of the flat patient it must equal.
FACTOR_FIELDS = {
    "date_of_birth": "birth_date",
    "ssn_last4": "ssn_last4",
    "mrn": "mrn",
    "phone": "phone",
    "family_name": "family_name",
    "given_name": "given_name",
}


def _canonical(name: str, value: object) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if name == "phone":
        return normalize_phone(text) or ""
    if name in NAME_FACTORS:
        return name_key(text)
    return text.casefold()


@sensitive_phi
def satisfies(patient: FlatPatient, identifiers: dict[str, str]) -> bool:
    """True when every identifier the caller gave equals the patient's; every factor is compared."""
    ok = True
    for name, given in identifiers.items():
        expected = _canonical(name, getattr(patient, FACTOR_FIELDS[name]))
        # A value the EHR does not give (e.g. no SSN at Oracle Health) can never match.
        same = hmac.compare_digest(_canonical(name, given).encode(), expected.encode())
        ok = ok & same & bool(expected)
    return ok


def _still_needed(factor_set: list[str], name_parts: list[str], given: dict, preset: Preset) -> list[str]:
    wanted = list(dict.fromkeys(list(factor_set) + list(name_parts)))
    have = set(given) | set(wanted)
    extra = [f for f in extra_identifiers_needed(preset, have) if f not in wanted]
    return [f for f in wanted + extra if f not in given]


def complete_sets(factor_sets: list[list[str]], name_parts: list[str], given: dict, preset: Preset) -> list[list[str]]:
    """Factor sets the caller has fully given, in a form the vendor can be searched with."""
    return [s for s in factor_sets if not _still_needed(s, name_parts, given, preset)]


def missing_for_next_set(factor_sets: list[list[str]], name_parts: list[str], given: dict, preset: Preset) -> list[str]:
    """The fewest identifiers still needed to complete some factor set."""
    return min((_still_needed(s, name_parts, given, preset) for s in factor_sets), key=len)
