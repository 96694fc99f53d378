"""The FHIR endpoint accepts only live tokens whose scopes cover the resource (RFC 6750)."""

import time


def token(http, sandbox, scope="system/Patient.read"):
    sandbox.register_client("gw", scopes=["system/Patient.read"], auth="client_secret_basic", secret="s")
    response = http.post(sandbox.token_url, data={"grant_type": "client_credentials", "scope": scope}, auth=("gw", "s"))
    return response.json()["access_token"]


def test_fhir_without_a_token_is_401_with_a_bearer_challenge(http, sandbox):
    response = http.get(sandbox.fhir_url + "/Patient")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_discovery_and_metadata_need_no_token(http, sandbox):
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        config = http.get(sandbox.base_url + path).json()
        assert config["token_endpoint"] == sandbox.token_url
        assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
        assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    metadata = http.get(sandbox.fhir_url + "/metadata").json()
    assert metadata["resourceType"] == "CapabilityStatement"
    assert metadata["fhirVersion"] == "4.0.1"


def test_a_token_works_until_its_lifetime_ends(http, sandbox):
    sandbox.set_token_lifetime(1)
    access_token = token(http, sandbox)
    headers = {"Authorization": f"Bearer {access_token}"}

    assert http.get(sandbox.fhir_url + "/Patient", params={"_count": 1}, headers=headers).status_code == 200
    time.sleep(1.2)
    expired = http.get(sandbox.fhir_url + "/Patient", params={"_count": 1}, headers=headers)

    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_a_resource_outside_the_token_scopes_is_403_insufficient_scope(http, sandbox):
    headers = {"Authorization": f"Bearer {token(http, sandbox)}"}

    response = http.get(sandbox.fhir_url + "/Appointment", params={"patient": "x"}, headers=headers)

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
