"""Whole calls over HTTP against every strict sandbox option in every flavour, from one expected-outcome
table (option x flavour x tool): what real sites do and the spec allows, one at a time and all together.

Each cell: two calls (names + birth date, then birth date + MRN) verify, and the three tools answer
the same data as on the plain site, except where the table says otherwise. The EHR request log must
show at most one refused `$match` per connection and never a Patient search by birth date alone.
"""

import pytest
from rest_framework.test import APIClient

from ehr_integrations.models import EHRConnection, VerificationPolicy
from ehr_integrations.sandbox.strict import SITE_MRN_SYSTEM
from tests import builders
from tests.calls.conftest import SCOPES, SECRET, open_call, verify, wire_to_sandbox

pytestmark = pytest.mark.django_db
FLAVOURS = ("generic", "epic", "oracle_health")
TOOLS = ("appointments", "medications", "messages")
NO_DISPENSES = [s for s in SCOPES if "MedicationDispense" not in s]
NO_COMMUNICATION = [s for s in SCOPES if "Communication" not in s]

# option -> (strict options, grant registered (None: all), site overrides, {tool: expected outcome})
# Outcomes: "same" (the plain site's data), "no_fills" (same medicines, refill figures empty),
# "not_permitted" (503 unavailable, reason not_permitted, no data).
TABLE = {
    "match refused": ({"match": "refused"}, None, {}, {}),
    "match absent": ({"match": "absent"}, None, {}, {}),
    "v2 scopes only": ({"scopes": "v2"}, None, {}, {}),
    "result cap": ({"result_cap": 3}, None, {}, {}),
    "no POST _search": ({"post_search": "refused"}, None, {}, {}),
    "_include ignored": ({"include": "ignored"}, None, {}, {}),
    "_include refused": ({"include": "refused"}, None, {}, {}),
    "site MRN system": ({"mrn_system": "site"}, None, {"mrn_system": SITE_MRN_SYSTEM}, {}),
    "no dispenses granted": ({}, NO_DISPENSES, {}, {"medications": "no_fills"}),
    "no messages granted": ({}, NO_COMMUNICATION, {}, {"messages": "not_permitted"}),
    "all together": (
        {"match": "refused", "scopes": "v2", "result_cap": 3, "post_search": "refused", "include": "refused",
         "mrn_system": "site"},
        NO_DISPENSES,
        {"mrn_system": SITE_MRN_SYSTEM},
        {"medications": "no_fills"},
    ),
}  # fmt: skip


def _count(requests: list[dict], method: str, path: str, status: int) -> int:
    return len([r for r in requests if (r["method"], r["path"], r["status"]) == (method, path, status)])


def _include_retried(requests: list[dict], flavour: str) -> bool:
    refused = [r for r in requests if r["status"] == 400 and "_include" in r["params"] + r.get("form_params", [])]
    return bool(refused) == (flavour == "generic")  # the only preset asking for _includes


# Proof that each option was met (a table that passes because nothing happened would prove nothing).
EVIDENCE = {
    "match refused": lambda log, flavour: _count(log, "POST", "/fhir/Patient/$match", 403) == (flavour == "epic"),
    "match absent": lambda log, flavour: _count(log, "POST", "/fhir/Patient/$match", 404) == (flavour == "epic"),
    "v2 scopes only": lambda log, _: [r["status"] for r in log if r["path"] == "/oauth2/token"] == [400, 200],
    "no POST _search": lambda log, _: len([r for r in log if r["status"] == 405]) == 1,
    "_include refused": _include_retried,
    "no dispenses granted": lambda log, _: not [r for r in log if r["path"].startswith("/fhir/MedicationDispense")],
    "no messages granted": lambda log, _: not [r for r in log if r["path"].startswith("/fhir/Communication")],
    "all together": lambda log, _: [r["status"] for r in log if r["path"] == "/oauth2/token"] == [400, 200],
}


def _site(sandbox, slug: str, grant: list[str] | None, overrides: dict) -> tuple[APIClient, str]:
    """A new health system (its own connection: token, refusals) wired to the sandbox."""
    system = builders.health_system(slug=slug, vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id=f"gw-{slug}")
    if grant is not None:
        sandbox.register_client(f"gw-{slug}", scopes=grant, grant="narrow", auth="client_secret_basic", secret=SECRET)
    connection = EHRConnection.objects.get(health_system=system)
    connection.capability_overrides = overrides
    connection.save()
    VerificationPolicy.objects.filter(health_system=system).update(
        factor_sets=[["date_of_birth", "family_name", "given_name"], ["date_of_birth", "mrn"]]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {builders.agent_client(f'Acme Voice {slug}', system).api_key}")
    return api, slug


def _call(site: tuple[APIClient, str], patient: dict) -> dict:
    """Two verifications, then every tool on the second call: {"verify": [...], tool: (http, answer)}."""
    api, slug = site
    named = []
    for _ in range(2):  # twice by name: a refused $match must not be asked again on this connection
        by_name = open_call(api, health_system=slug)
        named.append(verify(api, by_name, date_of_birth=patient["birth_date"], family_name=patient["family"],
                            given_name=patient["given"]).json()["status"])  # fmt: skip
    by_mrn = open_call(api, health_system=slug)
    numbered = verify(api, by_mrn, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()
    answers = {"verify": [*named, numbered["status"]]}
    for tool in TOOLS:
        response = api.get(f"/api/v1/calls/{by_mrn}/{tool}?wait=1")
        answers[tool] = (response.status_code, response.json())
    return answers


def _patient_searches(sandbox) -> list[set[str]]:
    found = [r for r in sandbox.requests() if r["path"] in ("/fhir/Patient", "/fhir/Patient/_search")]
    return [set(r["params"]) | set(r.get("form_params", [])) for r in found]


def _expect(outcome: str, plain: tuple[int, dict], got: tuple[int, dict], tool: str) -> None:
    status, answer = got
    if outcome == "not_permitted":
        assert status == 503 and answer["reason"] == "not_permitted" and "data" not in answer, answer
        return
    assert status == 200 and answer["status"] == "ok", answer
    expected = plain[1]["data"]
    if outcome == "no_fills":
        assert [m["id"] for m in answer["data"]] == [m["id"] for m in expected]
        assert all(m["refills_remaining"] is None and m["refill_eligible"] is None for m in answer["data"])
        return
    assert _without_handles(answer["data"]) == _without_handles(expected), (tool, answer["data"], expected)


def _without_handles(data: object) -> object:
    """An answer with its call-scoped handles left out: two calls name the same appointment differently."""
    if isinstance(data, list):
        return [_without_handles(item) for item in data]
    return {k: v for k, v in data.items() if k != "handle"} if isinstance(data, dict) else data


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_strict_option_in_the_table_answers_as_expected(sandbox_factory, flavour):
    sandbox = sandbox_factory(flavour=flavour)
    sandbox.reset()
    patient = next(p for p in sandbox.patients() if p["id"] == sandbox.hard_cases()["complete"])
    plain = _call(_site(sandbox, "plain", None, {}), patient)
    assert plain["verify"] == ["verified"] * 3
    failures = []
    for number, (option, (strict, grant, overrides, expected)) in enumerate(TABLE.items()):
        sandbox.reset()
        sandbox.set_strict(**strict)
        got = _call(_site(sandbox, f"strict-{number}", grant, overrides), patient)
        try:
            assert got["verify"] == ["verified"] * 3, got["verify"]
            for tool in TOOLS:
                _expect(expected.get(tool, "same"), plain[tool], got[tool], tool)
            refused_matches = [
                r for r in sandbox.requests() if r["path"] == "/fhir/Patient/$match" and r["status"] >= 400
            ]
            assert len(refused_matches) <= 1, refused_matches
            searches = _patient_searches(sandbox)
            assert searches and not [s for s in searches if s - {"_count"} == {"birthdate"}], searches
            if "post_search" not in strict:  # while the site takes POST _search, no search puts PHI in a URL
                assert not [r for r in sandbox.requests() if r["method"] == "GET" and r["params"]
                            and r["path"].startswith("/fhir/Patient")]  # fmt: skip
            assert EVIDENCE.get(option, lambda *_: True)(sandbox.requests(), flavour), f"{option} was not exercised"
        except AssertionError as failed:
            failures.append(f"{option}: {failed}")
    sandbox.reset()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_mrn_under_a_site_system_never_verifies_the_patient_holding_the_same_value_elsewhere(
    sandbox_factory, flavour
):
    sandbox = sandbox_factory(flavour=flavour)
    sandbox.reset()
    sandbox.set_strict(mrn_system="site")
    cases = sandbox.hard_cases()
    patients = {p["id"]: p for p in sandbox.patients()}
    complete, decoy = patients[cases["complete"]], patients[cases["mrn_decoy"]]
    api, slug = _site(sandbox, "site-mrn", None, {"mrn_system": SITE_MRN_SYSTEM})
    call_id = open_call(api, health_system=slug)
    # The decoy's birth date with the complete patient's MRN: the decoy holds that value, but not as MRN.
    answer = verify(api, call_id, date_of_birth=decoy["birth_date"], mrn=complete["mrn"]).json()
    assert answer["status"] == "needs_more", answer
    control = open_call(api, health_system=slug)
    assert (
        verify(api, control, date_of_birth=complete["birth_date"], mrn=complete["mrn"]).json()["status"] == "verified"
    )
    sandbox.reset()
