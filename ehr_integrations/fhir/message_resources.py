"""The FHIR R4 resources a caller's message to the care team is written as (issue 21), validated
before anything is sent (write_resources.py).

A Communication from the patient (`subject` and `sender`) to the site's message recipient, its topic
as the category and the caller's words as the payload; or, where the site takes only Tasks, a Task
`for` the patient whose description carries the words. Both carry the gateway's business identifier.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from ehr_integrations.fhir.write_resources import carries, identifier, reference, validated

IDENTIFIER_SYSTEM = "urn:voice-ehr-gateway:care-team-message"


@dataclass(frozen=True)
class CareTeamMessage:
    patient_id: str
    topic: str  # the site's topic code
    topic_text: str  # how the site names it ("a billing question")
    text: str  # the caller's words (PHI)
    recipient: str | None  # the site's message recipient reference, or None
    identifier: str  # the gateway's business identifier
    identifier_system: str = IDENTIFIER_SYSTEM

    def build(self, resource_type: str) -> dict:
        """The Communication or Task as JSON, validated by the R4 model; raises InvalidResource."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        patient = {"reference": f"Patient/{self.patient_id}"}
        category = f"Message from the patient by phone: {self.topic_text}"
        if resource_type == "Task":
            return validated(
                {
                    "resourceType": "Task",
                    "identifier": identifier(self),
                    "status": "requested",
                    "intent": "order",
                    "priority": "routine",
                    "code": {"text": category},
                    "description": self.text,
                    "for": patient,
                    "authoredOn": now,
                    "requester": patient,
                    "owner": reference(self.recipient),
                }
            )
        return validated(
            {
                "resourceType": "Communication",
                "identifier": identifier(self),
                "status": "in-progress",
                "category": [{"coding": [{"system": IDENTIFIER_SYSTEM, "code": self.topic}], "text": category}],
                "subject": patient,
                "sender": patient,
                "recipient": [r for r in (reference(self.recipient),) if r],
                "sent": now,
                "payload": [{"contentString": self.text}],
            }
        )

    def is_ours(self, resource: dict, resource_type: str) -> bool:
        """Whether a resource the EHR returned is this message: type, identifier and patient."""
        subject = resource.get("for") if resource_type == "Task" else resource.get("subject")
        target = f"Patient/{self.patient_id}"
        return (
            carries(resource, self, resource_type) and isinstance(subject, dict) and subject.get("reference") == target
        )
