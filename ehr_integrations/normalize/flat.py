"""The flat objects of the agent contract (docs/agent-api.md): the only shapes that leave the EHR layer.

Every field is a plain JSON value or None (missing is reported as missing, never filled in).
Datetimes are ISO 8601 strings carrying the health system's UTC offset; dates are YYYY-MM-DD.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any

PATIENT_PUBLIC_FIELDS = ("given_name", "family_name", "preferred_name", "phone")


@dataclass(frozen=True)
class FlatPatient:
    """A patient; birth_date, mrn and ssn_last4 exist for verification only and never leave."""

    id: str | None
    given_name: str | None
    family_name: str | None
    preferred_name: str | None
    phone: str | None  # E.164
    birth_date: str | None
    mrn: str | None
    ssn_last4: str | None

    def public(self) -> dict[str, Any]:
        """What the agent may see: the minimum needed to greet and confirm."""
        return {name: getattr(self, name) for name in PATIENT_PUBLIC_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        """Same as public(): no dict made from a patient ever carries its identifiers."""
        return self.public()


@dataclass(frozen=True)
class Appointment:
    id: str | None
    datetime: str | None
    provider_name: str | None
    location: str | None
    status: str | None
    description: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Medication:
    id: str | None
    name: str | None
    status: str | None
    dosage: str | None
    prescriber_name: str | None
    refills_remaining: int | None
    last_filled: str | None
    refill_eligible: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Message:
    id: str | None
    sent_at: str | None
    sender: str | None
    subject: str | None
    status: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Flat resource name (as in MappingRule.resource) -> its dataclass.
FLAT_TYPES: dict[str, type] = {
    "patient": FlatPatient,
    "appointment": Appointment,
    "medication": Medication,
    "message": Message,
}


def field_names(resource: str) -> tuple[str, ...]:
    """The schema's field names of one flat resource, in contract order."""
    return tuple(f.name for f in fields(FLAT_TYPES[resource]))
