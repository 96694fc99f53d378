"""A site's scheduling rules (issue 22): what a caller may book by phone, and with whom.

The same keys in the health-system YAML (`scheduling:`, beside `capabilities:`) and in the admin
(Scheduling rules). Anything the rules do not allow is routed to the scheduling transfer target
without reaching the EHR; a site without rules books nothing by phone. Validation names the key.

    scheduling:
      callers_are: established        # new or established: a site rule, not an Encounter search
      lead_time_hours: 2              # no offer sooner than this
      horizon_days: 60                # nor later than this
      visit_types:                    # the agent's `visit_type` -> the EHR's service type
        follow-up: {code: follow-up, label: follow-up visit, patients: [established]}
      providers:                      # who may be booked, each with their Schedule
        - {practitioner: pr-1, schedule: schedule-pr-1, name: Dr. Anita Patel, location: Main Street Clinic}
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError

KEYS = frozenset({"callers_are", "lead_time_hours", "horizon_days", "hold_minutes", "visit_types", "providers"})
VISIT_KEYS = frozenset({"code", "system", "label", "patients"})
PROVIDER_KEYS = frozenset({"practitioner", "schedule", "name", "location", "visit_types"})
PATIENTS = ("new", "established")
DEFAULT_LEAD_TIME_HOURS = 2
DEFAULT_HORIZON_DAYS = 60
DEFAULT_HOLD_MINUTES = 5


@dataclass(frozen=True)
class VisitType:
    name: str  # what the agent sends as `visit_type`
    code: str  # the EHR's service type code
    system: str | None
    label: str  # spoken after an article: "follow-up visit"
    patients: frozenset[str]


@dataclass(frozen=True)
class Provider:
    practitioner: str  # FHIR id
    schedule: str  # FHIR id of their Schedule
    name: str  # spoken as is
    location: str
    visit_types: frozenset[str]  # empty: every visit type of the site


@dataclass(frozen=True)
class Rules:
    callers_are: str = "established"
    lead_time: timedelta = timedelta(hours=DEFAULT_LEAD_TIME_HOURS)
    horizon: timedelta = timedelta(days=DEFAULT_HORIZON_DAYS)
    hold: timedelta = timedelta(minutes=DEFAULT_HOLD_MINUTES)
    visit_types: dict[str, VisitType] = field(default_factory=dict)
    providers: tuple[Provider, ...] = ()

    def providers_for(self, visit_type: VisitType) -> tuple[Provider, ...]:
        return tuple(p for p in self.providers if not p.visit_types or visit_type.name in p.visit_types)

    def bookable(self, visit_type: VisitType) -> bool:
        """Whether a caller (new or established as the site says) may book it by phone."""
        return self.callers_are in visit_type.patients and bool(self.providers_for(visit_type))


def _fail(key: str, message: str) -> None:
    raise ValidationError(f"{key}: {message}", code="invalid_scheduling_rule")


def _text(key: str, value: object, *, required: bool = True) -> None:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 200:
        _fail(key, "must be a non-empty string of at most 200 characters")


def _number(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        _fail(key, f"must be a number from {low} to {high}")


def _check_visit_type(name: str, value: object) -> None:
    key = f"visit_types.{name}"
    if not isinstance(value, dict) or not set(value) <= VISIT_KEYS or "code" not in value:
        _fail(key, f"must have a code and may have {', '.join(sorted(VISIT_KEYS - {'code'}))}")
    for part in ("code", "label", "system"):
        if part in value:
            _text(f"{key}.{part}", value[part])
    patients = value.get("patients", list(PATIENTS))
    if not isinstance(patients, list) or not patients or not set(patients) <= set(PATIENTS):
        _fail(f"{key}.patients", "must list new and/or established")


def _check_provider(index: int, value: object, visit_types: dict) -> None:
    key = f"providers.{index}"
    if not isinstance(value, dict) or not set(value) <= PROVIDER_KEYS:
        _fail(key, f"must be a mapping of {', '.join(sorted(PROVIDER_KEYS))}")
    for part in ("practitioner", "schedule", "name"):
        if part not in value:
            _fail(f"{key}.{part}", "is required")
    for part in ("practitioner", "schedule", "name", "location"):
        if part in value:
            _text(f"{key}.{part}", value[part])
    allowed = value.get("visit_types", [])
    if not isinstance(allowed, list) or not set(allowed) <= set(visit_types):
        _fail(f"{key}.visit_types", "must list visit types named under visit_types")


def validate_rules(value: object) -> None:
    """Raise ValidationError naming the first key that is unknown or malformed."""
    if not isinstance(value, dict):
        raise ValidationError("must be a mapping of scheduling rules", code="invalid_scheduling_rule")
    for key in sorted(set(value) - KEYS):
        _fail(key, f"is not a scheduling rule (known: {', '.join(sorted(KEYS))})")
    if "callers_are" in value and value["callers_are"] not in PATIENTS:
        _fail("callers_are", "must be new or established")
    for key, low, high in (("lead_time_hours", 0, 24 * 14), ("horizon_days", 1, 366), ("hold_minutes", 1, 30)):
        if key in value:
            _number(key, value[key], low, high)
    visit_types = value.get("visit_types", {})
    if not isinstance(visit_types, dict):
        _fail("visit_types", "must map a visit type name to its code, label and patients")
    for name, visit_type in visit_types.items():
        _check_visit_type(str(name), visit_type)
    providers = value.get("providers", [])
    if not isinstance(providers, list):
        _fail("providers", "must be a list")
    for index, provider in enumerate(providers):
        _check_provider(index, provider, visit_types)


def parse(value: object) -> Rules:
    """The rules from stored (validated) data; an empty mapping books nothing."""
    if not value:
        return Rules()
    validate_rules(value)
    visit_types = {
        name: VisitType(
            name=name,
            code=spec["code"],
            system=spec.get("system"),
            label=spec.get("label") or name.replace("-", " "),
            patients=frozenset(spec.get("patients", PATIENTS)),
        )
        for name, spec in value.get("visit_types", {}).items()
    }
    providers = tuple(
        Provider(
            p["practitioner"], p["schedule"], p["name"], p.get("location", ""), frozenset(p.get("visit_types", ()))
        )
        for p in value.get("providers", [])
    )
    return Rules(
        callers_are=value.get("callers_are", "established"),
        lead_time=timedelta(hours=value.get("lead_time_hours", DEFAULT_LEAD_TIME_HOURS)),
        horizon=timedelta(days=value.get("horizon_days", DEFAULT_HORIZON_DAYS)),
        hold=timedelta(minutes=value.get("hold_minutes", DEFAULT_HOLD_MINUTES)),
        visit_types=visit_types,
        providers=providers,
    )
