"""Vendor presets as data: one YAML file per vendor, the same layout for each (see generic.yaml).

A preset holds the vendor's capabilities, which the search, records and verification layers
branch on (never on the vendor's name), and the default FHIRPath of every flat field, which a
health system's MappingRules may override.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ehr_integrations.identity import Coding, MrnRule

PRESET_DIR = Path(__file__).resolve().parent
# FHIR R4 Appointment.status: whom the caller is expected at, and what was cancelled or missed
# (entered-in-error is neither: it never happened). A preset's `appointment_statuses` may differ.
EXPECTED_STATUSES = ("proposed", "pending", "booked", "arrived", "checked-in", "waitlist")
CANCELLED_STATUSES = ("cancelled", "noshow")


@dataclass(frozen=True)
class Preset:
    vendor: str
    supports_match: bool
    # Minimum sets of Patient search parameters the vendor accepts (any one set suffices).
    patient_search_sets: tuple[tuple[str, ...], ...]
    # The header that carries our client id on unauthenticated discovery requests (Epic: Epic-Client-ID).
    client_id_header: str | None
    # Hosts of the vendor's authorization server that a discovered token endpoint may name besides the
    # FHIR base's own origin (auth/connection_config.token_endpoint_allowed).
    token_hosts: tuple[str, ...]
    # Communication search parameter naming the patient; None: no patient-level Communication search.
    communication_search_param: str | None
    # MedicationDispense search parameter naming the patient; None: the vendor gives no dispenses.
    dispense_search_param: str | None
    # _include values per searched resource type, only those the vendor honours.
    includes: MappingProxyType
    # Fixed extra search parameters per resource type (e.g. Epic's Appointment service-category).
    search_extras: MappingProxyType
    # Resource types whose names the gateway may read to resolve a reference (never patient data).
    readable_references: tuple[str, ...]
    mrn_identifier: MrnRule
    # Appointment statuses (flat, after mapping) the caller is expected at, and cancelled or missed ones.
    expected_statuses: frozenset[str]
    cancelled_statuses: frozenset[str]
    # Flat resource -> field -> FHIRPath; a missing field is computed (see normalize/).
    fields: MappingProxyType

    def includes_for(self, resource_type: str) -> tuple[str, ...]:
        return self.includes.get(resource_type, ())

    def extras_for(self, resource_type: str) -> dict[str, str]:
        return dict(self.search_extras.get(resource_type, {}))


def _frozen(value: dict[str, Any]) -> MappingProxyType:
    return MappingProxyType({key: MappingProxyType(dict(inner or {})) for key, inner in value.items()})


def _mrn_rule(data: dict[str, Any]) -> MrnRule:
    return MrnRule(
        type_texts=tuple(data.get("type_texts", ())),
        type_codings=tuple(Coding(system=c["system"], code=str(c["code"])) for c in data.get("type_codings", ())),
        systems=tuple(data.get("systems", ())),
        search_system=data.get("search_system"),
    )


def _build(data: dict[str, Any]) -> Preset:
    caps = data["capabilities"]
    return Preset(
        vendor=data["vendor"],
        supports_match=bool(caps["supports_match"]),
        patient_search_sets=tuple(tuple(s) for s in caps["patient_search_sets"]),
        client_id_header=caps.get("client_id_header"),
        token_hosts=tuple(h.lower() for h in caps.get("token_hosts") or ()),
        communication_search_param=caps.get("communication_search_param"),
        dispense_search_param=caps.get("dispense_search_param"),
        includes=MappingProxyType({k: tuple(v) for k, v in (caps.get("includes") or {}).items()}),
        search_extras=_frozen(caps.get("search_extras") or {}),
        readable_references=tuple(caps.get("readable_references", ())),
        mrn_identifier=_mrn_rule(caps.get("mrn_identifier") or {}),
        expected_statuses=frozenset((caps.get("appointment_statuses") or {}).get("expected", EXPECTED_STATUSES)),
        cancelled_statuses=frozenset((caps.get("appointment_statuses") or {}).get("cancelled", CANCELLED_STATUSES)),
        fields=_frozen(data["fields"]),
    )


def vendors() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


@cache
def preset(vendor: str) -> Preset:
    """The preset of one vendor (epic, oracle_health, generic); loaded once per process."""
    path = PRESET_DIR / f"{vendor}.yaml"
    if not path.is_file():
        raise KeyError(f"no preset for vendor {vendor!r}")
    return _build(yaml.safe_load(path.read_text(encoding="utf-8")))
