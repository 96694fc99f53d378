"""The transport over real HTTP: URL rules, retries only when safe, Retry-After, timeouts and the deadline."""

import dataclasses
import math
import time
from datetime import datetime

import pytest

from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import EHRConnection
from ehr_integrations.transport import http as transport
from ehr_integrations.transport import io_loop
from tests.ehr_integrations.sandbox_systems import fhir_requests, secret_system

ONE_PATIENT = {"_count": "1"}


def _client(sandbox, **connection_fields):
    system = secret_system(sandbox)
    EHRConnection.objects.filter(health_system=system).update(**connection_fields)
    client = fhir_client(connection_config(system))
    deadline = deadline_in(5)
    io_loop.wait(client.search("Patient", ONE_PATIENT, deadline=deadline, max_pages=1), deadline=deadline)  # token
    sandbox.reset_log()
    return client


def _search(client, seconds: float = 8.0, params=ONE_PATIENT):
    deadline = deadline_in(seconds)
    return io_loop.wait(client.search("Patient", params, deadline=deadline, max_pages=1), deadline=deadline)


def _at(entry: dict) -> float:
    return datetime.fromisoformat(entry["at"]).timestamp()


@pytest.mark.django_db
def test_plain_http_is_refused_off_loopback(health_system):
    config = dataclasses.replace(connection_config(health_system), allowed_hosts=frozenset({"fhir.example.org"}))
    with pytest.raises(EHRRequestRejected) as refused:
        transport.check_url(config, "http://fhir.example.org/R4/Patient")
    assert refused.value.reason == "https_required"
    transport.check_url(config, "https://fhir.example.org/R4/Patient")


@pytest.mark.django_db
def test_a_host_outside_the_allowlist_is_never_called(sandbox):
    client = _client(sandbox)
    elsewhere = sandbox.fhir_url.replace("127.0.0.1", "127.0.0.2")
    deadline = deadline_in(5)
    with pytest.raises(EHRRequestRejected) as refused:
        io_loop.wait(
            client._json("GET", f"{elsewhere}/Patient", endpoint="Patient", deadline=deadline), deadline=deadline
        )
    assert refused.value.reason == "host_not_allowed"
    assert sandbox.requests() == []


@pytest.mark.django_db
def test_extra_allowed_hosts_extend_the_allowlist(health_system):
    health_system.extra_allowed_hosts = "images.example.org"
    health_system.save()
    config = dataclasses.replace(connection_config(health_system))
    transport.check_url(config, "https://images.example.org/x")


@pytest.mark.django_db
def test_a_failing_get_is_retried_with_backoff_then_reported_unavailable(sandbox):
    client = _client(sandbox, max_retries=2, breaker_min_calls=50)
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=503)
    with pytest.raises(EHRUnavailable) as failed:
        _search(client)
    assert failed.value.reason == "server_error"
    attempts = fhir_requests(sandbox)
    assert [r["status"] for r in attempts] == [503, 503, 503]
    gaps = [_at(b) - _at(a) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # equal-jitter backoff: at least half of 0.1 s, 0.2 s


@pytest.mark.django_db
def test_a_post_operation_is_never_retried(sandbox):
    client = _client(sandbox, max_retries=3)
    sandbox.add_fault("/fhir/*", error_rate=1.0, error_status=503)
    deadline = deadline_in(5)
    with pytest.raises(EHRUnavailable):
        io_loop.wait(client.post_operation("Patient/_search", {}, deadline=deadline), deadline=deadline)
    assert len(fhir_requests(sandbox)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
def test_no_request_reaches_the_ehr_before_retry_after_has_passed(sandbox, as_date):
    client = _client(sandbox, breaker_min_calls=50)
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=2, retry_after_as_date=as_date,
                      duration_s=0.5)  # fmt: skip
    assert _search(client).resources
    first, second = fhir_requests(sandbox)
    assert first["status"] == 429 and second["status"] == 200
    # The HTTP-date form has whole-second resolution: it names a moment at or after floor(now) + 2.
    not_before = math.floor(_at(first)) + 2 if as_date else _at(first) + 2
    assert _at(second) >= not_before - 0.005


@pytest.mark.django_db
def test_a_request_started_during_a_retry_after_waits_too(sandbox):
    client = _client(sandbox, breaker_min_calls=50)
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=2, duration_s=0.3)
    with pytest.raises(EHRUnavailable):
        _search(client, seconds=0.5)  # gives up: Retry-After outlasts its deadline
    started = time.monotonic()
    assert _search(client).resources  # a new request, same health system
    assert time.monotonic() - started >= 1.0
    first, second = fhir_requests(sandbox)
    assert _at(second) >= _at(first) + 2 - 0.005


@pytest.mark.django_db
def test_a_retry_after_longer_than_the_deadline_is_passed_up(sandbox):
    client = _client(sandbox, breaker_min_calls=50)
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(EHRUnavailable) as limited:
        _search(client, seconds=3)
    assert time.monotonic() - started < 0.5
    assert limited.value.reason == "rate_limited" and limited.value.retry_after == pytest.approx(30, abs=1)
    assert len(fhir_requests(sandbox)) == 1


@pytest.mark.django_db
def test_a_hang_is_cut_at_the_read_timeout(sandbox):
    client = _client(sandbox, read_timeout_s=0.5, max_retries=0)
    sandbox.add_fault("/fhir/Patient*", hang=True)
    started = time.monotonic()
    with pytest.raises(EHRUnavailable) as cut:
        _search(client, seconds=5)
    assert cut.value.reason == "timeout"
    assert 0.5 <= time.monotonic() - started < 0.7


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [{"hang": True}, {"latency_ms": 900}], ids=["hang", "slow"])
def test_an_agent_request_never_exceeds_its_deadline_by_more_than_100ms(sandbox, fault):
    client = _client(sandbox, read_timeout_s=0.7, max_retries=5, breaker_min_calls=50)
    sandbox.add_fault("/fhir/Patient*", **fault)
    for budget in (0.3, 1.0, 1.6):
        started = time.monotonic()
        with pytest.raises(EHRUnavailable):
            _search(client, seconds=budget)
        assert time.monotonic() - started <= budget + 0.1


@pytest.mark.django_db
def test_a_request_the_http_client_refuses_to_send_is_a_transport_error_not_a_crash(sandbox):
    client = _client(sandbox, max_retries=0)
    config = client.config
    deadline = deadline_in(5)
    request = transport.send(
        config, "GET", f"{config.fhir_base_url}/metadata", endpoint="metadata", deadline=deadline,
        headers={"X-Injected": "a\r\nSet-Cookie: b"},  # e.g. a token endpoint's hostile access_token
    )  # fmt: skip
    with pytest.raises(EHRUnavailable) as failed:
        io_loop.wait(request, deadline=deadline)
    assert failed.value.reason == "transport_error"
    assert fhir_requests(sandbox) == []


def test_the_egress_proxy_comes_from_the_environment_and_no_proxy_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "fhir.inside.example,localhost")
    transport._proxy_for.cache_clear()
    try:
        assert transport._proxy_for("https", "fhir.example.org") == "http://proxy.internal:3128"
        assert transport._proxy_for("https", "fhir.inside.example") is None
        assert transport._proxy_for("http", "fhir.example.org") is None  # no HTTP_PROXY set
    finally:
        transport._proxy_for.cache_clear()
