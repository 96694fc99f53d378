"""Test connection's tool probes over real HTTP: each sandbox flavour, plain and with each strict option,
names each tool's outcome (works / falls back / refused / not supported) from what the site really does."""

import re

import pytest

from ehr_integrations.models import EHRConnection, VerificationPolicy
from ehr_integrations.query_plans import PLANS
from ehr_integrations.setup.connection_check import check_connection
from ehr_integrations.setup.tool_probes import FALLBACK, REFUSED, WORKS
from tests.ehr_integrations.sandbox_systems import SCOPES, SECRET, fhir_requests, secret_system

pytestmark = pytest.mark.django_db
FLAVOURS = ["generic", "epic", "oracle_health"]
FACTOR_SETS = [["date_of_birth", "family_name", "given_name"], ["date_of_birth", "mrn"], ["date_of_birth", "phone"]]
SEARCHING = ("verify", "appointments", "medications", "messages")
WITHOUT_DISPENSES = [s for s in SCOPES if "MedicationDispense" not in s]
WITHOUT_REQUESTS = [s for s in SCOPES if "MedicationRequest" not in s]

# option -> flavour -> the tools that do not simply work, and how (the others must work).
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "match=refused": {"generic": {}, "epic": {"verify": FALLBACK}, "oracle_health": {}},
    "match=absent": {"generic": {}, "epic": {"verify": FALLBACK}, "oracle_health": {}},
    "post_search=refused": {flavour: dict.fromkeys(SEARCHING, FALLBACK) for flavour in FLAVOURS},
    "include=refused": {
        "generic": dict.fromkeys(("appointments", "medications", "messages"), FALLBACK),
        "epic": {},  # Epic honours no _include: nothing to lose
        "oracle_health": {},
    },
    "include=ignored": {
        "generic": dict.fromkeys(("appointments", "medications", "messages"), FALLBACK),
        "epic": {},
        "oracle_health": {},
    },
    "scopes=v2": {flavour: {} for flavour in FLAVOURS},
    "result_cap=1": {flavour: {} for flavour in FLAVOURS},
    "mrn_system=site": {flavour: {} for flavour in FLAVOURS},
    "grant without MedicationDispense": {flavour: {"medications": FALLBACK} for flavour in FLAVOURS},
    "grant without MedicationRequest": {flavour: {"medications": REFUSED} for flavour in FLAVOURS},
}
NARROW_GRANTS = {
    "grant without MedicationDispense": WITHOUT_DISPENSES,
    "grant without MedicationRequest": WITHOUT_REQUESTS,
}


@pytest.fixture
def flavoured(sandbox_factory):
    started: list = []

    def start(flavour: str):
        handle = sandbox_factory(flavour=flavour)
        handle.reset()
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.reset()


def _site(sandbox, option: str | None = None):
    system = secret_system(sandbox, vendor=sandbox.flavour, read_timeout_s=3, request_deadline_s=4, max_retries=0)
    VerificationPolicy.objects.filter(health_system=system).update(factor_sets=FACTOR_SETS)
    if option in NARROW_GRANTS:
        sandbox.register_client(system.connection.client_id, scopes=NARROW_GRANTS[option], grant="narrow",
                                auth="client_secret_basic", secret=SECRET)  # fmt: skip
    elif option:
        name, value = option.split("=")
        sandbox.set_strict(**{name: int(value) if value.isdigit() else value})
    sandbox.reset_log()
    return system


def _outcomes(report) -> dict[str, str]:
    return {tool.tool: tool.status for tool in report.tools}


def _tool(report, name: str):
    return next(tool for tool in report.tools if tool.tool == name)


def _assert_nothing_real_came_back(sandbox, report) -> None:
    """No birth-date-only Patient search was sent, every probe matched nobody, every read found nothing."""
    for request in fhir_requests(sandbox, "/fhir/Patient"):
        assert sorted(request["params"] + request["form_params"]) != ["birthdate"], request
    assert not [p for t in report.tools for p in t.probes if re.search(r"answered, [1-9]", p.result)]
    reads = [r for r in fhir_requests(sandbox) if r["method"] == "GET" and r["path"].endswith("/zzprobe-0000-0000")]
    assert reads and all(r["status"] == 404 for r in reads)
    searches = [r for r in fhir_requests(sandbox) if r["path"] not in ("/fhir/metadata",) and r not in reads]
    assert all(r["status"] in (200, 403, 404, 405) for r in searches), searches


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_tool_works_on_each_plain_flavour_and_what_the_server_says_is_recorded(flavoured, flavour):
    sandbox = flavoured(flavour)
    system = _site(sandbox)
    report = check_connection(system)
    assert report.ok and report.summary == "All steps passed", report
    assert [s.name for s in report.steps] == ["Discovery", "Token", "Metadata", "Tools", "Writes"]
    assert _outcomes(report) == dict.fromkeys(PLANS, WORKS)
    assert {t.outcome for t in report.tools} == {"works"}
    verify = _tool(report, "verify")
    assert len(verify.probes) == len(FACTOR_SETS)  # one verification search per factor set
    assert ("$match" in verify.probes[0].what) == (flavour == "epic")
    _assert_nothing_real_came_back(sandbox, report)
    connection = EHRConnection.objects.get(health_system=system)
    assert "Appointment" in connection.server_capabilities["resources"] and connection.capabilities_checked_at


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("option", list(EXPECTED))
def test_each_strict_option_names_each_tools_outcome(flavoured, flavour, option):
    sandbox = flavoured(flavour)
    report = check_connection(_site(sandbox, option))
    expected = {**dict.fromkeys(PLANS, WORKS), **EXPECTED[option][flavour]}
    assert _outcomes(report) == expected, [(t.tool, t.outcome) for t in report.tools]
    assert report.ok == (REFUSED not in expected.values())
    assert report.summary == (
        "Some steps failed" if not report.ok else "Passed with fallbacks" if FALLBACK in expected.values() else
        "All steps passed"
    )  # fmt: skip
    _assert_nothing_real_came_back(sandbox, report)


def test_a_refused_match_is_asked_once_and_verification_falls_back_to_the_search_sets(flavoured):
    sandbox = flavoured("epic")
    report = check_connection(_site(sandbox, "match=refused"))
    verify = _tool(report, "verify")
    assert verify.outcome.startswith("works; falls back to the search sets") and "answer" in verify.sources
    assert [r["status"] for r in fhir_requests(sandbox, "/fhir/Patient/$match")] == [403]
    assert all(p.ok for p in verify.probes)


def test_a_refused_post_search_falls_back_to_get(flavoured):
    sandbox = flavoured("generic")
    report = check_connection(_site(sandbox, "post_search=refused"))
    assert all("falls back to GET searches" in _tool(report, t).outcome for t in SEARCHING)
    gets = [r for r in fhir_requests(sandbox) if r["method"] == "GET" and r["params"]]
    assert {r["path"] for r in gets} >= {"/fhir/Patient", "/fhir/Appointment", "/fhir/MedicationRequest"}


def test_without_dispenses_granted_medications_work_with_refill_fields_empty_and_say_what_to_ask_for(flavoured):
    sandbox = flavoured("generic")
    report = check_connection(_site(sandbox, "grant without MedicationDispense"))
    medications = _tool(report, "medications")
    assert medications.outcome.startswith("works; refills_remaining, last_filled, refill_eligible stay empty")
    assert medications.ask_for == ("system/MedicationDispense.rs",) and medications.sources == ("grant",)
    assert not fhir_requests(sandbox, "/fhir/MedicationDispense")  # withheld by the grant: never asked
    assert report.ok and report.summary == "Passed with fallbacks"


def test_without_medication_requests_granted_medications_are_refused_and_not_asked(flavoured):
    sandbox = flavoured("oracle_health")
    report = check_connection(_site(sandbox, "grant without MedicationRequest"))
    medications = _tool(report, "medications")
    assert medications.outcome == "refused: ask the health system for system/MedicationRequest.rs"
    assert medications.sources == ("grant",) and medications.ask_for == ("system/MedicationRequest.rs",)
    assert not fhir_requests(sandbox, "/fhir/MedicationRequest")
    tools = next(s for s in report.steps if s.name == "Tools")
    assert not tools.ok and "medications: refused" in tools.diagnosis
    assert not report.ok and report.summary == "Some steps failed"


def test_a_refused_include_leaves_names_to_reference_reads(flavoured):
    sandbox = flavoured("generic")
    report = check_connection(_site(sandbox, "include=refused"))
    assert "falls back to reference reads for names" in _tool(report, "appointments").outcome
    assert not [r for r in fhir_requests(sandbox) if "_include" in r["params"] + r["form_params"]]
