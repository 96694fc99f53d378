"""Strict options switched at run time: SMART v2 scopes only, a result cap, no POST _search, no _include;
each alone and all together, reset by /_control/reset, refused when unknown."""

import httpx
import pytest

from ehr_integrations.sandbox.flavours import generic
from ehr_integrations.sandbox.strict import DECOY_SYSTEM, SITE_MRN_SYSTEM

DEFAULTS = {
    "match": "ok",
    "scopes": "any",
    "result_cap": None,
    "post_search": "ok",
    "include": "ok",
    "mrn_system": "flavour",
    "writes": "flavour",
    "conditional_create": "ok",
}


@pytest.fixture
def token(sandbox):
    sandbox.register_client("gw", scopes=["system/*.read"], auth="client_secret_basic", secret="s")
    return lambda scope="system/*.rs": httpx.post(
        sandbox.token_url, data={"grant_type": "client_credentials", "scope": scope}, auth=("gw", "s")
    )


@pytest.fixture
def bearer(token):
    return {"Authorization": f"Bearer {token().json()['access_token']}"}


def ids(bundle: dict, mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def capability(sandbox, resource_type: str) -> dict:
    statement = sandbox.fhir_get("metadata")
    return next(r for r in statement["rest"][0]["resource"] if r["type"] == resource_type)


# -- the control endpoint --------------------------------------------------------------------------


def test_options_default_reset_and_report_the_mrn_system_in_use(sandbox):
    systems = {"mrn_identifier_system": generic.MRN_SYSTEM, "decoy_identifier_system": DECOY_SYSTEM}
    assert sandbox.strict() == {**DEFAULTS, **systems}
    changed = sandbox.set_strict(scopes="v2", result_cap=3, mrn_system="site")
    sandbox.set_strict(include="ignored")

    assert changed["mrn_identifier_system"] == SITE_MRN_SYSTEM
    assert {k: sandbox.strict()[k] for k in ("scopes", "result_cap", "include")} == {
        "scopes": "v2",
        "result_cap": 3,
        "include": "ignored",
    }
    sandbox.reset()
    assert {k: sandbox.strict()[k] for k in DEFAULTS} == DEFAULTS


@pytest.mark.parametrize(
    "body, field",
    [
        ({"shoe_size": 9}, "shoe_size"),
        ({"scopes": "v1"}, "scopes"),
        ({"result_cap": 0}, "result_cap"),
        ({"result_cap": "10"}, "result_cap"),
        ({"include": True}, "include"),
        ({"mrn_identifier_system": "x"}, "mrn_identifier_system"),
    ],
)
def test_unknown_option_names_and_values_are_400_naming_the_field(sandbox, body, field):
    response = httpx.put(f"{sandbox.base_url}/_control/strict", json=body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]


# -- scopes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"])
def test_smart_configuration_lists_v1_and_v2_by_default_and_v2_only_when_strict(sandbox, path):
    before = httpx.get(sandbox.base_url + path).json()
    sandbox.set_strict(scopes="v2")
    after = httpx.get(sandbox.base_url + path).json()

    assert {"permission-v1", "permission-v2"} <= set(before["capabilities"])
    assert "permission-v2" in after["capabilities"] and "permission-v1" not in after["capabilities"]
    assert after["scopes_supported"] and all(
        not s.endswith((".read", ".write", ".*")) for s in after["scopes_supported"]
    )


def test_v2_only_refuses_any_v1_scope_and_grants_v2(sandbox, token):
    sandbox.set_strict(scopes="v2")

    for v1 in ("system/Patient.read", "system/Appointment.rs system/Patient.*", "system/*.write"):
        refused = token(v1)
        assert refused.status_code == 400, v1
        assert refused.json()["error"] == "invalid_scope"
        assert "v2" in refused.json()["error_description"] and v1.split()[-1] in refused.json()["error_description"]
    granted = token("system/Patient.rs system/Appointment.rs")
    assert granted.status_code == 200 and granted.json()["scope"] == "system/Patient.rs system/Appointment.rs"
    assert token("system/Patient.read").status_code == 400
    sandbox.reset()
    sandbox.register_client("gw", scopes=["system/*.read"], auth="client_secret_basic", secret="s")
    assert token("system/Patient.read").status_code == 200


# -- result_cap ------------------------------------------------------------------------------------


def test_a_patient_search_past_the_cap_is_400_too_costly_on_get_and_post(sandbox, bearer):
    sandbox.set_strict(result_cap=5)
    complete = next(p for p in sandbox.patients() if p["id"] == sandbox.hard_cases()["complete"])

    too_many = httpx.get(sandbox.fhir_url + "/Patient", params={"gender": "female"}, headers=bearer)
    posted = httpx.post(sandbox.fhir_url + "/Patient/_search", data={"gender": "female"}, headers=bearer)
    narrow = sandbox.fhir_get("Patient", {"identifier": complete["mrn"]})
    appointments = sandbox.fhir_get("Appointment", {"status": "fulfilled"})

    for response in (too_many, posted):
        assert response.status_code == 400
        [issue] = response.json()["issue"]
        assert issue["code"] == "too-costly" and issue["diagnostics"].startswith("4127: too many results")
    assert ids(narrow) == [complete["id"]]
    assert len(ids(appointments)) > 5  # the cap is on patients only
    sandbox.set_strict(result_cap=None)
    assert httpx.get(sandbox.fhir_url + "/Patient", params={"gender": "female"}, headers=bearer).status_code == 200


# -- post_search -----------------------------------------------------------------------------------


def test_refused_post_search_is_405_allow_get_and_get_still_searches(sandbox, bearer):
    sandbox.set_strict(post_search="refused")

    posted = httpx.post(sandbox.fhir_url + "/Appointment/_search", data={"status": "booked"}, headers=bearer)
    got = httpx.get(sandbox.fhir_url + "/Appointment", params={"status": "booked"}, headers=bearer)

    assert posted.status_code == 405
    assert posted.headers["Allow"] == "GET"
    assert posted.json()["resourceType"] == "OperationOutcome"
    assert got.status_code == 200 and ids(got.json())


# -- include ---------------------------------------------------------------------------------------


def test_the_capability_statement_lists_the_includes_the_sandbox_honours(sandbox):
    appointment = capability(sandbox, "Appointment")
    upcoming = sandbox.hard_cases()["upcoming_appointment"]

    bundle = sandbox.fhir_get("Appointment", {"_id": upcoming, "_include": "Appointment:practitioner"})

    assert {"Appointment:practitioner", "Appointment:location", "Appointment:patient"} <= set(
        appointment["searchInclude"]
    )
    assert "MedicationRequest:requester" in capability(sandbox, "MedicationRequest")["searchInclude"]
    assert [e["resource"]["resourceType"] for e in bundle["entry"] if e["search"]["mode"] == "include"] == [
        "Practitioner"
    ]


def test_ignored_include_returns_no_included_entries_and_is_not_advertised(sandbox):
    sandbox.set_strict(include="ignored")
    upcoming = sandbox.hard_cases()["upcoming_appointment"]

    bundle = sandbox.fhir_get("Appointment", {"_id": upcoming, "_include": "Appointment:practitioner"})

    assert "searchInclude" not in capability(sandbox, "Appointment")
    assert ids(bundle) == [upcoming]
    assert ids(bundle, "include") == [] and ids(bundle, "outcome") == []


def test_refused_include_is_400_not_supported_and_is_not_advertised(sandbox):
    sandbox.set_strict(include="refused")
    upcoming = sandbox.hard_cases()["upcoming_appointment"]

    refused = sandbox.fhir_get("Appointment", {"_id": upcoming, "_include": "Appointment:practitioner"})
    plain = sandbox.fhir_get("Appointment", {"_id": upcoming})

    assert "searchInclude" not in capability(sandbox, "Appointment")
    assert refused["resourceType"] == "OperationOutcome" and refused["issue"][0]["code"] == "not-supported"
    assert ids(plain) == [upcoming]


# -- all together ----------------------------------------------------------------------------------


def test_every_option_at_once(sandbox, token):
    sandbox.register_client("gw2", scopes=["system/*.rs"], auth="client_secret_basic", secret="s")
    sandbox.set_strict(
        match="absent", scopes="v2", result_cap=5, post_search="refused", include="refused", mrn_system="site"
    )
    complete = next(p for p in sandbox.patients() if p["id"] == sandbox.hard_cases()["complete"])
    assert token("system/Patient.read").status_code == 400
    bearer = {"Authorization": f"Bearer {token().json()['access_token']}"}

    def get(resource_type: str, **params: str) -> httpx.Response:
        return httpx.get(f"{sandbox.fhir_url}/{resource_type}", params=params, headers=bearer)

    patient = get("Patient", identifier=f"{SITE_MRN_SYSTEM}|{complete['mrn']}")
    assert ids(patient.json()) == [complete["id"]]
    assert get("Patient", gender="female").json()["issue"][0]["code"] == "too-costly"
    assert get("Appointment", patient=complete["id"], _include="Appointment:location").status_code == 400
    assert (
        httpx.post(sandbox.fhir_url + "/Patient/_search", data={"_id": complete["id"]}, headers=bearer).status_code
        == 405
    )
    match = httpx.post(sandbox.fhir_url + "/Patient/$match", json={"resourceType": "Parameters"}, headers=bearer)
    assert match.status_code == 404
    patient_capability = capability(sandbox, "Patient")
    assert "operation" not in patient_capability and "searchInclude" not in capability(sandbox, "Appointment")
