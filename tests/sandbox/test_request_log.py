"""The request log keeps form-body parameter names and, per parameter, whether its value arrived with a
FHIR search escape; never the values. Reading the form there leaves it whole for the handler."""

import httpx
import pytest


@pytest.fixture
def bearer(sandbox):
    sandbox.register_client("gw", scopes=["system/*.read"], auth="client_secret_basic", secret="s")
    response = httpx.post(
        sandbox.token_url, data={"grant_type": "client_credentials", "scope": "system/*.rs"}, auth=("gw", "s")
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def complete(sandbox):
    return next(p for p in sandbox.patients() if p["id"] == sandbox.hard_cases()["complete"])


def last(sandbox, path: str) -> dict:
    return [entry for entry in sandbox.requests() if entry["path"] == path][-1]


def test_a_form_post_logs_its_parameter_names_and_the_handler_still_reads_them(sandbox, bearer, complete):
    response = httpx.post(
        sandbox.fhir_url + "/Patient/_search",
        params={"_count": "5"},
        data={"family": complete["family"], "birthdate": complete["birth_date"]},
        headers=bearer,
    )

    entry = last(sandbox, "/fhir/Patient/_search")
    assert complete["id"] in [e["resource"]["id"] for e in response.json()["entry"]]
    assert entry["params"] == ["_count"]
    assert entry["form_params"] == ["birthdate", "family"]
    assert entry["escaped"] == {"_count": False, "family": False, "birthdate": False}
    assert complete["family"] not in str(entry) and complete["birth_date"] not in str(entry)


def test_escaped_values_are_flagged_per_parameter(sandbox, bearer):
    httpx.post(
        sandbox.fhir_url + "/Patient/_search",
        data={"family": r"O\,Brien", "given": "Ann,Bo", "identifier": r"a\|b", "name": "x\\\\"},
        headers=bearer,
    )
    httpx.get(sandbox.fhir_url + "/Patient", params={"family": r"Smith\$", "given": "a|b"}, headers=bearer)

    posted, got = last(sandbox, "/fhir/Patient/_search"), last(sandbox, "/fhir/Patient")
    assert posted["escaped"] == {"family": True, "given": False, "identifier": True, "name": True}
    assert got["escaped"] == {"family": True, "given": False}
    assert got["form_params"] == []
    assert "Brien" not in str(posted) and "Smith" not in str(got)


def test_the_token_endpoint_logs_form_names_never_secrets(sandbox, bearer):
    entry = last(sandbox, "/oauth2/token")

    assert entry["form_params"] == ["grant_type", "scope"]
    assert "system/" not in str(entry)
