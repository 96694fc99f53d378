"""Does a candidate patient satisfy what the caller said? Constant-time, and blind to which factor failed.

A candidate is the patient's id and keyed digests of the fields the caller's factors are compared
with: all a verdict needs, and all a speculative search keeps in the call's store (issue 24,
minimum necessary). The digest key is the server's secret and the call, so a digest means nothing
outside its call. The public fields (a name to greet) stay in memory only, for a search made in
the verdict's own turn.
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings

from compliance.phi_logging import sensitive_phi
from ehr_integrations.fhir.patient_search import PARAM_SOURCES, extra_identifiers_needed
from ehr_integrations.identity import normalize_phone
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.names import name_key
from ehr_integrations.presets import Preset

NAME_FACTORS = frozenset({"family_name", "given_name"})
# The claims a patient search goes by; a wrong answer to anything else (an SSN's last four) with all
# of these right is a guess at that patient.
SEARCHED_CLAIMS = frozenset(PARAM_SOURCES.values())
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


@dataclass(frozen=True)
class Candidate:
    """A patient a search found: its id and the keyed digest of each compared field ("": the EHR gave none)."""

    id: str
    digests: dict[str, str]
    public: dict | None = None  # what the agent may see, never stored; None for a speculation's candidate

    def stored(self) -> dict:
        return {"id": self.id, "digests": self.digests}


def _digest(call_id: str, name: str, value: object) -> str:
    canonical = _canonical(name, value)
    if not canonical:
        return ""
    text = f"candidate:{call_id}:{name}:{canonical}"
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


@sensitive_phi
def candidates_of(call_id: str, patients: list[FlatPatient]) -> list[Candidate]:
    """The search's patients as candidates of this call (public fields kept in memory)."""
    return [
        Candidate(
            id=patient.id or "",
            digests={name: _digest(call_id, name, getattr(patient, field)) for name, field in FACTOR_FIELDS.items()},
            public=patient.public(),
        )
        for patient in patients
    ]


def stored_candidates(rows: list[dict]) -> list[Candidate]:
    """Candidates as a speculative search kept them (Candidate.stored)."""
    return [Candidate(id=row["id"], digests=dict(row["digests"])) for row in rows]


@sensitive_phi
def satisfies(call_id: str, candidate: Candidate, identifiers: dict[str, str]) -> bool:
    """True when every identifier the caller gave equals the candidate's; every factor is compared."""
    ok = True
    for name, given in identifiers.items():
        expected = candidate.digests.get(name, "")
        # A value the EHR does not give (e.g. no SSN at Oracle Health) can never match.
        same = hmac.compare_digest(_digest(call_id, name, given).encode(), expected.encode())
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


def search_ready(factor_sets: list[list[str]], name_parts: list[str], given: dict, preset: Preset) -> bool:
    """True when some factor set lacks only factors no search goes by (an SSN's last four): the search
    its verdict will make is then already fixed by what the caller said (speculation.py)."""
    for factor_set in factor_sets:
        still = _still_needed(factor_set, name_parts, given, preset)
        if still and not any(name in SEARCHED_CLAIMS for name in still):
            return True
    return False


def missing_for_next_set(factor_sets: list[list[str]], name_parts: list[str], given: dict, preset: Preset) -> list[str]:
    """The fewest identifiers still needed to complete some factor set."""
    return min((_still_needed(s, name_parts, given, preset) for s in factor_sets), key=len)
