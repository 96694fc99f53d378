"""Injected faults behave as set, can be changed while the sandbox runs, and show in its request log."""

import email.utils
import random
import statistics
import time

import httpx
import pytest

from ehr_integrations.sandbox.faults import FaultRule
from tests.fixtures.sandbox import start_sandbox

pytestmark = pytest.mark.faults


@pytest.fixture
def token(sandbox):
    sandbox.register_client("gw", scopes=["system/*.read"], auth="client_secret_basic", secret="s")
    response = httpx.post(
        sandbox.token_url, data={"grant_type": "client_credentials", "scope": "system/*.read"}, auth=("gw", "s")
    )
    sandbox.reset_log()
    return response.json()["access_token"]


_client = httpx.Client()  # one client for the module: a new one per call costs an SSL context each


def get(sandbox, token, path="Patient", timeout=10.0, **params):
    return _client.get(
        f"{sandbox.fhir_url}/{path}",
        params=params or {"_count": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def log_for(sandbox, path):
    return [entry for entry in sandbox.requests() if entry["path"] == path]


def test_429_with_retry_after_seconds_is_answered_and_logged(sandbox, token):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=7)

    response = get(sandbox, token)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["resourceType"] == "OperationOutcome"
    assert [(e["status"], e["fault"]) for e in log_for(sandbox, "/fhir/Patient")] == [(429, "rate_limited")]


def test_429_with_retry_after_as_an_http_date(sandbox, token):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=30, retry_after_as_date=True)

    response = get(sandbox, token)

    retry_at = email.utils.parsedate_to_datetime(response.headers["Retry-After"]).timestamp()
    assert response.status_code == 429
    assert 25 <= retry_at - time.time() <= 31


def test_faults_apply_only_to_matching_paths(sandbox, token):
    sandbox.add_fault("/fhir/Appointment*", error_rate=1.0, error_status=502)

    assert get(sandbox, token, "Appointment", patient="x").status_code == 502
    assert get(sandbox, token, "Patient").status_code == 200


def test_a_fault_keyed_to_a_parameter_value_fails_only_requests_carrying_it(sandbox, token):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=500, when_param={"birthdate": "1961-04-02"})
    headers = {"Authorization": f"Bearer {token}"}

    assert get(sandbox, token, birthdate="1961-04-02", family="Smith").status_code == 500
    assert get(sandbox, token, birthdate="1961-04-03").status_code == 200
    assert get(sandbox, token, family="Smith").status_code == 200
    form = {"birthdate": "1961-04-02"}
    assert _client.post(f"{sandbox.fhir_url}/Patient/_search", data=form, headers=headers).status_code == 500
    assert (
        _client.post(
            f"{sandbox.fhir_url}/Patient/_search", data={"birthdate": "1970-01-01"}, headers=headers
        ).status_code
        == 200
    )
    assert [e["fault"] for e in log_for(sandbox, "/fhir/Patient")] == ["error", None, None]


def test_when_param_must_map_names_to_values(sandbox):
    with pytest.raises(AssertionError, match="when_param"):
        sandbox.add_fault("/fhir/*", error_rate=1.0, when_param={"birthdate": 1961})


def test_outage_window_fails_everything_then_ends(sandbox, token):
    sandbox.add_fault(outage=True, duration_s=1.0)

    during = [get(sandbox, token).status_code, httpx.post(sandbox.token_url, data={}).status_code]
    time.sleep(1.1)
    after = get(sandbox, token).status_code

    assert during == [503, 503]
    assert after == 200
    assert [e["fault"] for e in sandbox.requests()][:2] == ["outage", "outage"]


def test_hang_never_answers_and_the_log_shows_it(sandbox, token):
    sandbox.add_fault("/fhir/Appointment*", hang=True)

    with pytest.raises(httpx.ReadTimeout):
        get(sandbox, token, "Appointment", timeout=0.5, patient="x")

    entries = log_for(sandbox, "/fhir/Appointment")
    assert len(entries) == 1
    assert entries[0]["fault"] == "hang"
    for _ in range(20):  # the sandbox notices the disconnect shortly after
        if log_for(sandbox, "/fhir/Appointment")[0]["status"] == 499:
            break
        time.sleep(0.05)
    assert log_for(sandbox, "/fhir/Appointment")[0]["status"] == 499


def test_failing_token_endpoint_answers_an_oauth_error_while_fhir_keeps_working(sandbox, token):
    sandbox.register_client("gw", scopes=["system/Patient.read"], auth="client_secret_basic", secret="s")
    sandbox.add_fault(token_fail=True, error_status=503, retry_after=5)

    refused = httpx.post(sandbox.token_url, data={"grant_type": "client_credentials"}, auth=("gw", "s"))
    harness_still_reads = sandbox.fhir_get("Patient", {"_count": 1})

    assert refused.status_code == 503
    assert refused.json()["error"] == "temporarily_unavailable"
    assert refused.headers["Retry-After"] == "5"
    assert get(sandbox, token).status_code == 200
    assert harness_still_reads["resourceType"] == "Bundle"


def test_fixed_latency_delays_the_answer(sandbox, token):
    sandbox.add_fault("/fhir/Patient", latency_ms=300)

    started = time.perf_counter()
    response = get(sandbox, token)

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3
    assert log_for(sandbox, "/fhir/Patient")[0]["duration_ms"] >= 300


def test_clearing_faults_restores_normal_answers(sandbox, token):
    sandbox.add_fault(error_rate=1.0, error_status=500)
    assert get(sandbox, token).status_code == 500

    sandbox.clear_faults()

    assert get(sandbox, token).status_code == 200


def test_error_rate_fails_about_that_share_of_requests(sandbox, token):
    sandbox.add_fault("/fhir/Patient", error_rate=0.5, error_status=503)

    statuses = [get(sandbox, token).status_code for _ in range(60)]

    assert set(statuses) == {200, 503}
    assert 15 <= statuses.count(503) <= 45


def test_log_normal_latency_has_the_requested_median_and_99th_percentile():
    rule = FaultRule(latency_p50_ms=800, latency_p99_ms=2000)
    rng = random.Random(1)

    samples = sorted(rule.delay_s(rng) * 1000 for _ in range(20_000))

    assert statistics.median(samples) == pytest.approx(800, rel=0.03)
    assert samples[int(len(samples) * 0.99)] == pytest.approx(2000, rel=0.06)


def test_request_log_records_parameter_names_never_values(sandbox, token):
    patient = sandbox.patients()[0]

    get(sandbox, token, family=patient["family"], birthdate=patient["birth_date"])

    [entry] = log_for(sandbox, "/fhir/Patient")
    assert entry["params"] == ["birthdate", "family"]
    assert entry["method"] == "GET" and entry["status"] == 200 and entry["client_id"]
    assert patient["family"] not in str(sandbox.requests())
    assert patient["birth_date"] not in str(sandbox.requests())


def test_request_log_can_be_narrowed_to_one_client_after_a_point(sandbox, token):
    sandbox.register_client("other", scopes=["system/*.read"], auth="client_secret_basic", secret="o")
    other = httpx.post(
        sandbox.token_url, data={"grant_type": "client_credentials", "scope": "system/*.read"}, auth=("other", "o")
    ).json()["access_token"]
    get(sandbox, token, "Appointment")
    mark = sandbox.requests()[-1]["seq"]
    get(sandbox, other, "Appointment")
    get(sandbox, token, "Communication")
    get(sandbox, token, "MedicationRequest")

    later = sandbox.requests(after=mark, client_id="gw")
    assert [e["path"] for e in later] == ["/fhir/Communication", "/fhir/MedicationRequest"]
    assert [e["client_id"] for e in sandbox.requests(after=mark)] == ["other", "gw", "gw"]
    assert httpx.get(f"{sandbox.base_url}/_control/requests", params={"after": "x"}).status_code == 400


def test_faults_can_be_set_with_cli_flags_at_start():
    handle = start_sandbox(patients=20, extra=('--fault={"path": "/fhir/*", "error_rate": 1.0, "error_status": 502}',))
    try:
        handle.register_client("gw", scopes=["system/*.read"], auth="client_secret_basic", secret="s")
        form = {"grant_type": "client_credentials", "scope": "system/*.read"}
        access_token = httpx.post(handle.token_url, data=form, auth=("gw", "s")).json()["access_token"]
        assert get(handle, access_token).status_code == 502
    finally:
        handle.stop()
