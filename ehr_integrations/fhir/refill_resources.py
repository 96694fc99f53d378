"""The FHIR R4 resources a refill request is written as, built with fhirclient's R4 models and
validated by them before anything is sent (issue 21: "built with the design card's models").

A Task (`focus` = the MedicationRequest, `for` = the patient, `owner` = the prescriber unless the
site names one) where the site creates Tasks, else a Communication `about` the MedicationRequest,
from the patient to the prescriber. Both carry the gateway's business identifier, which makes the
write findable (and conditional) whatever the server does with its own ids.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from fhirclient.models import communication, task
from fhirclient.models.fhirabstractbase import FHIRValidationError

IDENTIFIER_SYSTEM = "urn:voice-ehr-gateway:refill-request"
KINDS = {"refill": "Refill request", "renewal": "Renewal request (no refills left)"}


class InvalidResource(ValueError):
    """The resource did not validate against the R4 model: never sent."""


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

    @property
    def if_none_exist(self) -> str:
        return f"identifier={IDENTIFIER_SYSTEM}|{self.identifier}"


def _text(request: RefillRequest) -> str:
    words = f"{KINDS[request.kind]} for {request.medicine}, requested by the patient by phone."
    return f"{words} Note from the patient: {request.note}" if request.note else words


def _reference(value: str | None) -> dict | None:
    return {"reference": value} if value else None


def build(request: RefillRequest, resource_type: str) -> dict:
    """The Task or Communication as JSON, validated by the R4 model; raises InvalidResource."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    identifier = [{"system": IDENTIFIER_SYSTEM, "value": request.identifier}]
    medication_request = f"MedicationRequest/{request.medication_request_id}"
    patient = f"Patient/{request.patient_id}"
    if resource_type == "Task":
        body = {
            "resourceType": "Task",
            "identifier": identifier,
            "status": "requested",
            "intent": "order",
            "priority": "routine",
            "code": {"text": KINDS[request.kind]},
            "description": _text(request),
            "focus": {"reference": medication_request},
            "for": {"reference": patient},
            "authoredOn": now,
            "requester": {"reference": patient},
            "owner": _reference(request.owner or request.prescriber),
        }
        model = task.Task
    else:
        body = {
            "resourceType": "Communication",
            "identifier": identifier,
            "status": "in-progress",
            "category": [{"text": KINDS[request.kind]}],
            "subject": {"reference": patient},
            "about": [{"reference": medication_request}],
            "sender": {"reference": patient},
            "recipient": [r for r in (_reference(request.owner or request.prescriber),) if r],
            "sent": now,
            "payload": [{"contentString": _text(request)}],
        }
        model = communication.Communication
    body = {key: value for key, value in body.items() if value not in (None, [])}
    try:
        return model(body, strict=True).as_json()
    except (FHIRValidationError, ValueError, TypeError) as exc:
        raise InvalidResource(type(exc).__name__) from None


def is_ours(resource: dict, request: RefillRequest, resource_type: str) -> bool:
    """Whether a resource the EHR returned is this request: its type, identifier and focus."""
    if resource.get("resourceType") != resource_type:
        return False
    ours = any(
        i.get("system") == IDENTIFIER_SYSTEM and i.get("value") == request.identifier
        for i in resource.get("identifier") or []
        if isinstance(i, dict)
    )
    target = f"MedicationRequest/{request.medication_request_id}"
    focus = resource.get("focus") if resource_type == "Task" else (resource.get("about") or [{}])[0]
    return ours and isinstance(focus, dict) and focus.get("reference") == target
