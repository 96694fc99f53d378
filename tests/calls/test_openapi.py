"""The OpenAPI schema: served, complete, and true: schemathesis drives >= 1,000 generated requests
at a running gateway (valid key, sandbox-wired health system) and checks every answer against it."""

import random

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.calls.conftest import open_call, verified_call, wait_for_prefetch

EXAMPLES_PER_OPERATION = 100  # 11 operations: at least 1,000 requests in all
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture
def verified_call_id(api, patient) -> str:
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    return call_id


def test_every_generated_request_gets_an_answer_that_conforms_to_the_schema(gateway, api, agent, verified_call_id):
    schema = schemathesis.openapi.from_url(f"{gateway.url}/api/schema/")
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    sent: dict[str, int] = {}

    def exercise(case) -> None:
        if case.path_parameters and "call_id" in case.path_parameters and random.random() < 0.9:  # noqa: S311
            # Mostly real calls: a fresh one for POSTs (which verify or end it), else the verified one.
            case.path_parameters["call_id"] = open_call(api) if case.method == "POST" else verified_call_id
        response = case.call(base_url=gateway.url, headers=headers, timeout=15)
        sent[case.operation.label] = sent.get(case.operation.label, 0) + 1
        case.validate_response(response, checks=CHECKS)

    for operation in schema.get_all_operations():
        strategy = operation.ok().as_strategy()
        run = hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(exercise))
        run()
    print(f"schemathesis: {sum(sent.values())} requests over {len(sent)} operations")
    assert len(sent) == 11 and sum(sent.values()) >= 1000, sent


@pytest.mark.django_db
def test_schema_and_docs_are_served_and_document_every_envelope(client):
    document = client.get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert document.status_code == 200
    spec = document.json()
    components = spec["components"]
    for envelope in ("Pending", "NeedsMore", "Verified", "NotVerified", "Escalate", "Unavailable", "Ended", "Error"):
        assert f"{envelope}Envelope" in components["schemas"], envelope
    assert components["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": components["securitySchemes"]["ApiKey"]["description"],
    }
    appointments = spec["paths"]["/api/v1/calls/{call_id}/appointments"]["get"]["responses"]
    assert {"200", "202", "403", "410", "503"} <= set(appointments)
    assert appointments["202"]["content"]["application/json"]["examples"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
