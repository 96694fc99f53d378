from zoneinfo import ZoneInfo

from ehr_integrations.normalize import references
from ehr_integrations.normalize.flat import Message
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.references import SENDERS, Known, name_of
from ehr_integrations.normalize.values import code, instant, text

NAMED = {"sender": SENDERS}


def normalize_message(resource: object, mapping: Mapping, *, tz: ZoneInfo, known: Known | None = None) -> Message:
    """A FHIR Communication as a flat Message (the body is never carried, only its subject)."""
    fhir = resource if isinstance(resource, dict) else {}
    known = known or {}

    def values(field: str) -> list:
        return mapping.values("message", field, fhir)

    return Message(
        id=code(values("id")),
        sent_at=instant(values("sent_at"), tz),
        sender=name_of(values("sender"), fhir, known, SENDERS),
        subject=text(values("subject")),
        status=code(values("status")),
    )


def message_references(resource: object, mapping: Mapping, known: Known) -> set[str]:
    """References ("Type/id") a message's sender still needs read."""
    return references.missing(mapping, "message", resource, known, NAMED)
