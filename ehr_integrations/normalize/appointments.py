from zoneinfo import ZoneInfo

from ehr_integrations.normalize import references
from ehr_integrations.normalize.flat import Appointment
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.references import PEOPLE, PLACES, Known, name_of
from ehr_integrations.normalize.values import code, instant, text

NAMED = {"provider_name": PEOPLE, "location": PLACES}


def normalize_appointment(
    resource: object, mapping: Mapping, *, tz: ZoneInfo, known: Known | None = None
) -> Appointment:
    """A FHIR Appointment as a flat Appointment, its time in the health system's zone."""
    fhir = resource if isinstance(resource, dict) else {}
    known = known or {}

    def values(field: str) -> list:
        return mapping.values("appointment", field, fhir)

    return Appointment(
        id=code(values("id")),
        datetime=instant(values("datetime"), tz),
        provider_name=name_of(values("provider_name"), fhir, known, PEOPLE),
        location=name_of(values("location"), fhir, known, PLACES),
        status=code(values("status")),
        description=text(values("description")),
    )


def appointment_references(resource: object, mapping: Mapping, known: Known) -> set[str]:
    """References ("Type/id") an appointment's names still need read."""
    return references.missing(mapping, "appointment", resource, known, NAMED)
