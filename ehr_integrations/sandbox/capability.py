"""The CapabilityStatement at /fhir/metadata: what this flavour supports, and where to get a token."""

from aiohttp import web

from ehr_integrations.sandbox import schedule_statement
from ehr_integrations.sandbox.bundles import fhir_response
from ehr_integrations.sandbox.search_params import INCLUDES, PARAMS
from ehr_integrations.sandbox.state import STATE, SandboxState
from ehr_integrations.sandbox.writes import writable

SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_PARAM_TYPES = {
    "_id": "token",
    "identifier": "token",
    "status": "token",
    "gender": "token",
    "code": "token",
    "intent": "token",
    "phone": "token",
    "telecom": "token",
    "birthdate": "date",
    "date": "date",
    "sent": "date",
    "authoredon": "date",
    "family": "string",
    "given": "string",
    "name": "string",
}


def capability_statement(state: SandboxState) -> dict:
    flavour = state.flavour
    resources = []
    for resource_type, params in PARAMS.items():
        unsupported = flavour.UNSUPPORTED_SEARCH_PARAMS.get(resource_type, frozenset())
        entry = {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": _PARAM_TYPES.get(name, "reference")}
                for name in params
                if name not in unsupported
            ],
        }
        if resource_type in INCLUDES and state.strict.include == "ok":
            entry["searchInclude"] = [f"{resource_type}:{name}" for name in INCLUDES[resource_type]]
        if resource_type == "Patient" and state.strict.match != "absent":
            entry["operation"] = [
                {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"}
            ]
        resources.append(entry)
    resources = schedule_statement.advertise(state, _add_writes(state, resources))
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2025-01-01",
        "kind": "instance",
        "software": {"name": f"Voice EHR Gateway sandbox ({flavour.NAME})", "version": "1"},
        "implementation": {"description": f"Sandbox EHR, {flavour.NAME} flavour", "url": state.fhir_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {"url": SMART_OAUTH_URIS, "extension": [{"url": "token", "valueUri": state.token_url}]}
                    ],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                },
                "resource": resources,
            }
        ],
    }


def _add_writes(state: SandboxState, resources: list[dict]) -> list[dict]:
    """The types POST creates (sandbox/writes.py) gain `create`, and `conditionalCreate` when
    If-None-Exist is honoured; a type not otherwise served (Task) is listed for them."""
    by_type = {entry["type"]: entry for entry in resources}
    for resource_type in writable(state):
        entry = by_type.get(resource_type)
        if entry is None:
            entry = {"type": resource_type, "interaction": [{"code": "read"}, {"code": "search-type"}]}
            entry["searchParam"] = [{"name": "identifier", "type": "token"}]
            resources.append(entry)
        entry["interaction"] = [{"code": "create"}, *entry["interaction"]]
        entry["conditionalCreate"] = state.strict.conditional_create == "ok"
    return resources


async def metadata(request: web.Request) -> web.Response:
    return fhir_response(capability_statement(request.app[STATE]))
