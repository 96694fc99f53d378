"""A site's capability overrides: what the onboarding engineer knows better than the vendor preset.

The same keys in the health-system YAML (`capabilities:`) and in the admin (EHRConnection's
`capability_overrides`); anything left out keeps the preset's value or what the server and the
grant say (ehr_integrations/fhir/capabilities.py). Validation names the key at fault.

    supports_match: false                 # never post Patient/$match
    patient_search_sets: [[identifier], [birthdate, family]]
    mrn_system: urn:oid:1.2.3.4           # the site's MRN identifier system (searched as system|value)
    includes: {Appointment: ["Appointment:actor"]}   # [] turns a resource's _include off
    post_search: false                    # never POST [type]/_search (GET only)
    enrichments: {dispenses: false, reference_reads: false}
    appointment_statuses: {expected: [booked, arrived], cancelled: [cancelled, noshow]}
"""

import dataclasses
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ValidationError

from ehr_integrations.presets import Preset

SEARCH_PARAMS = frozenset({"identifier", "birthdate", "family", "given", "phone"})
ENRICHMENTS = frozenset({"dispenses", "reference_reads"})
STATUS_LISTS = frozenset({"expected", "cancelled"})
KEYS = frozenset(
    {"supports_match", "patient_search_sets", "mrn_system", "includes", "post_search", "enrichments",
     "appointment_statuses"}
)  # fmt: skip


def _fail(key: str, message: str) -> None:
    raise ValidationError(f"{key}: {message}", code="invalid_override")


def _check_flag(key: str, value: object) -> None:
    if not isinstance(value, bool):
        _fail(key, "must be true or false")


def _check_sets(value: object) -> None:
    if not isinstance(value, list) or not value:
        _fail("patient_search_sets", "must be a non-empty list of parameter lists")
    for search_set in value:
        if not isinstance(search_set, list) or not search_set or not set(search_set) <= SEARCH_PARAMS:
            _fail("patient_search_sets", f"each set is a list of {', '.join(sorted(SEARCH_PARAMS))}")
        if search_set == ["birthdate"]:
            _fail("patient_search_sets", "a birth date alone names every patient born that day")


def _check_includes(value: object) -> None:
    if not isinstance(value, dict):
        _fail("includes", "must map a resource type to a list of _include values")
    for resource_type, includes in value.items():
        if not isinstance(includes, list) or not all(
            isinstance(i, str) and i.startswith(f"{resource_type}:") for i in includes
        ):
            _fail("includes", f"{resource_type} needs a list of '{resource_type}:param' values")


def _check_named_flags(key: str, value: object, names: frozenset[str]) -> None:
    if not isinstance(value, dict) or not set(value) <= names:
        _fail(key, f"must map {', '.join(sorted(names))} to true or false")
    for name, flag in value.items():
        _check_flag(f"{key}.{name}", flag)


def _check_statuses(value: object) -> None:
    if not isinstance(value, dict) or not set(value) <= STATUS_LISTS:
        _fail("appointment_statuses", "must have expected and/or cancelled lists")
    for name, statuses in value.items():
        if not isinstance(statuses, list) or not all(isinstance(s, str) and s for s in statuses):
            _fail(f"appointment_statuses.{name}", "must be a list of status codes")
        if "entered-in-error" in statuses:
            _fail(f"appointment_statuses.{name}", "entered-in-error never happened")


def _is_system(value: object) -> bool:
    """A URI fit for `system|value` and for MRN matching: no search syntax, no glob characters."""
    return isinstance(value, str) and bool(value) and ":" in value and not any(c in value for c in " ,|$\\*?[")


def usable(value: object) -> dict[str, Any]:
    """The valid keys of stored overrides (a bulk update can bypass validation; one bad key must not
    drop the others, such as the MRN system verification depends on)."""
    if not isinstance(value, dict):
        return {}
    kept = {}
    for key, item in value.items():
        try:
            validate_overrides({key: item})
        except ValidationError:
            continue
        kept[key] = item
    return kept


def validate_overrides(value: object) -> None:
    """Raise ValidationError naming the first key that is unknown or malformed."""
    if not isinstance(value, dict):
        raise ValidationError("must be a mapping of capability names to values", code="invalid_override")
    for key in sorted(set(value) - KEYS):
        _fail(key, f"is not a capability (known: {', '.join(sorted(KEYS))})")
    for key in ("supports_match", "post_search"):
        if key in value:
            _check_flag(key, value[key])
    if "patient_search_sets" in value:
        _check_sets(value["patient_search_sets"])
    if "mrn_system" in value and not _is_system(value["mrn_system"]):
        _fail("mrn_system", "must be the identifier system URI (e.g. urn:oid:1.2.3), without spaces or , | $ \\ * ? [")
    if "includes" in value:
        _check_includes(value["includes"])
    if "enrichments" in value:
        _check_named_flags("enrichments", value["enrichments"], ENRICHMENTS)
    if "appointment_statuses" in value:
        _check_statuses(value["appointment_statuses"])


def apply(base: Preset, overrides: dict[str, Any]) -> Preset:
    """The preset with the site's overrides in place (validated input; the enrichments and
    post_search are read by the capabilities, which have no preset field for them)."""
    changes: dict[str, Any] = {}
    if "supports_match" in overrides:
        changes["supports_match"] = overrides["supports_match"]
    if "patient_search_sets" in overrides:
        changes["patient_search_sets"] = tuple(tuple(s) for s in overrides["patient_search_sets"])
    if "mrn_system" in overrides:
        system = overrides["mrn_system"].strip()
        rule = base.mrn_identifier
        # The site's system alone marks the MRN: a type-coded identifier from another facility is not it.
        changes["mrn_identifier"] = dataclasses.replace(
            rule, type_texts=(), type_codings=(), systems=(system,), search_system=system
        )
    if "includes" in overrides:
        merged = {**base.includes, **{k: tuple(v) for k, v in overrides["includes"].items()}}
        changes["includes"] = MappingProxyType(merged)
    statuses = overrides.get("appointment_statuses") or {}
    if "expected" in statuses:
        changes["expected_statuses"] = frozenset(statuses["expected"])
    if "cancelled" in statuses:
        changes["cancelled_statuses"] = frozenset(statuses["cancelled"])
    return dataclasses.replace(base, **changes)
