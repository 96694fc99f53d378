"""The FHIR R4 resources a refill request is written as (issue 21), validated before anything is sent
(write_resources.py).

A Task (`focus` = the MedicationRequest, `for` = the patient, `owner` = the site's task owner, else
the prescriber) where the site creates Tasks, else a Communication `about` the MedicationRequest,
from the patient to the prescriber. Both carry the gateway's business identifier.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from ehr_integrations.fhir.write_resources import carries, identifier, reference, validated

IDENTIFIER_SYSTEM = "urn:voice-ehr-gateway:refill-request"
KINDS = {"refill": "Refill request", "renewal": "Renewal request (no refills left)"}


@dataclass(frozen=True)
class RefillRequest:
    """What to write, as plain values (no FHIR in, one resource out)."""

    kind: str  # "refill" or "renewal"
    patient_id: str
    medication_request_id: str
    prescriber: str | None  # "Practitioner/x" (the MedicationRequest's requester), or None
    owner: str | None  # the site's task owner reference, else the prescriber
    medicine: str  # the medicine as the EHR names it
    note: str
    identifier: str  # the gateway's business identifier
    identifier_system: str = IDENTIFIER_SYSTEM

    def build(self, resource_type: str) -> dict:
        """The Task or Communication as JSON, validated by the R4 model; raises InvalidResource."""
        return build(self, resource_type)

    def is_ours(self, resource: dict, resource_type: str) -> bool:
        """Whether a resource the EHR returned is this request: its type, identifier, focus and patient."""
        return is_ours(resource, self, resource_type)


def _text(request: RefillRequest) -> str:
    words = f"{KINDS[request.kind]} for {request.medicine}, requested by the patient by phone."
    return f"{words} Note from the patient: {request.note}" if request.note else words


def build(request: RefillRequest, resource_type: str) -> dict:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    medication_request = f"MedicationRequest/{request.medication_request_id}"
    patient = f"Patient/{request.patient_id}"
    if resource_type == "Task":
        return validated(
            {
                "resourceType": "Task",
                "identifier": identifier(request),
                "status": "requested",
                "intent": "order",
                "priority": "routine",
                "code": {"text": KINDS[request.kind]},
                "description": _text(request),
                "focus": {"reference": medication_request},
                "for": {"reference": patient},
                "authoredOn": now,
                "requester": {"reference": patient},
                "owner": reference(request.owner or request.prescriber),
            }
        )
    return validated(
        {
            "resourceType": "Communication",
            "identifier": identifier(request),
            "status": "in-progress",
            "category": [{"text": KINDS[request.kind]}],
            "subject": {"reference": patient},
            "about": [{"reference": medication_request}],
            "sender": {"reference": patient},
            "recipient": [r for r in (reference(request.owner or request.prescriber),) if r],
            "sent": now,
            "payload": [{"contentString": _text(request)}],
        }
    )


def is_ours(resource: dict, request: RefillRequest, resource_type: str) -> bool:
    target = f"MedicationRequest/{request.medication_request_id}"
    about = resource.get("about")
    focus = (
        resource.get("focus") if resource_type == "Task" else (about[0] if isinstance(about, list) and about else None)
    )
    subject = resource.get("for") if resource_type == "Task" else resource.get("subject")
    return (
        carries(resource, request, resource_type)
        and isinstance(focus, dict)
        and focus.get("reference") == target
        and isinstance(subject, dict)
        and subject.get("reference") == f"Patient/{request.patient_id}"
    )
