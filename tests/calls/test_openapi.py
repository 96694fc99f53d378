"""The OpenAPI schema: served, complete, and documenting every envelope.

That it is true is checked where the requests are generated anyway: tests/calls/test_fuzz.py sends
100 cases of valid data to every operation (1,200 in all, half on a verified call) and checks each
answer against this schema (status code, content type, body), besides 100 cases of invalid data.
"""

import pytest


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
