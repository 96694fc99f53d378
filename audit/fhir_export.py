"""PHI access records as FHIR R4 AuditEvents in the IHE Basic Audit Log Patterns (BALP) shape.

Patient-specific reads and searches use the BALP PatientRead / PatientQuery profiles; the agent
client is the requesting client agent, the health system's EHR the server agent, the gateway
the observer; the correlation id travels as BALP's X-Request-Id entity.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from audit.models import AuditRecord, Outcome

BALP = "https://profiles.ihe.net/ITI/BALP"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
GATEWAY = "urn:voice-ehr-gateway"

ACTIONS = {"read": "R", "search": "E", "verify": "E", "match": "E", "create": "C", "update": "U", "delete": "D"}
SUBTYPES = {"read": "read", "search": "search-type", "verify": "search-type", "match": "search-type"}
# FHIR audit-event-outcome: 0 success, 4 minor failure (refused), 8 serious failure (could not be done).
OUTCOMES = {
    Outcome.SUCCESS: "0",
    Outcome.WRONG_DETAILS: "4",
    Outcome.LOCKED: "4",
    Outcome.BUDGET_SPENT: "4",
    Outcome.ESCALATED: "4",
    Outcome.EHR_UNAVAILABLE: "8",
    Outcome.NOT_PERMITTED: "4",
    Outcome.WRITE_REQUESTED: "0",
    Outcome.WRITE_CONFIRMED: "0",
    Outcome.WRITE_FAILED: "8",
    Outcome.DENIED: "4",
    Outcome.FAILED: "8",
    Outcome.UNAVAILABLE: "8",
}


def audit_event(record: AuditRecord) -> dict:
    verb = record.action.lower()
    event = {
        "resourceType": "AuditEvent",
        "id": str(record.event_id),
        "meta": {"profile": [_profile(record)]},
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": SUBTYPES.get(verb, "operation")}],
        "action": ACTIONS.get(verb, "E"),
        "recorded": record.recorded_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "outcome": OUTCOMES[record.outcome],
        "outcomeDesc": record.outcome,
        "purposeOfEvent": [{"coding": [{"system": f"{GATEWAY}:purpose", "code": record.purpose}]}],
        "agent": _agents(record),
        "source": {
            "observer": {"display": "Voice EHR Gateway"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "entity": _entities(record),
    }
    return event


def bundle_chunks(records: Iterable[AuditRecord]) -> Iterator[str]:
    """A FHIR collection Bundle, streamed one entry at a time."""
    yield '{"resourceType":"Bundle","type":"collection","entry":['
    for index, record in enumerate(records):
        prefix = "," if index else ""
        entry = {"fullUrl": f"urn:uuid:{record.event_id}", "resource": audit_event(record)}
        yield prefix + json.dumps(entry, separators=(",", ":"))
    yield "]}"


def _profile(record: AuditRecord) -> str:
    query = SUBTYPES.get(record.action.lower()) == "search-type"
    if record.patient_reference:
        return f"{BALP}/StructureDefinition/IHE.BasicAudit.Patient{'Query' if query else 'Read'}"
    return f"{BALP}/StructureDefinition/IHE.BasicAudit.{'Query' if query else 'Read'}"


def _agents(record: AuditRecord) -> list[dict]:
    client = {
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {"system": f"{GATEWAY}:agent-client", "value": record.agent_client}},
        "requestor": True,
    }
    if record.source_address:
        client["network"] = {"address": record.source_address, "type": "2"}
    server = {
        "type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
        "who": {"identifier": {"system": f"{GATEWAY}:health-system", "value": record.health_system}},
        "requestor": False,
    }
    return [client, server]


def _entities(record: AuditRecord) -> list[dict]:
    entities = []
    if record.patient_reference:
        entities.append(
            {
                "what": {"reference": f"Patient/{record.patient_reference}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    for reference in _resource_references(record):
        entities.append(
            {
                "what": {"reference": reference},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            }
        )
    details = [
        {"type": "dataCategory", "valueString": record.data_category},
        {"type": "callSession", "valueString": record.call_session or ""},
    ]
    if record.verification_method:
        details.append({"type": "verificationMethod", "valueString": record.verification_method})
    entities.append(
        {
            "what": {"identifier": {"value": record.correlation_id}},
            "type": {"system": f"{BALP}/CodeSystem/BasicAuditEntityType", "code": "XrequestId"},
            "detail": details,
        }
    )
    return entities


def _resource_references(record: AuditRecord) -> list[str]:
    types, ids = record.resource_types, record.resource_ids
    if len(types) == 1:
        return [f"{types[0]}/{i}" for i in ids]
    if len(types) == len(ids):
        return [f"{t}/{i}" for t, i in zip(types, ids, strict=True)]
    return list(ids)
