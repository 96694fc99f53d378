"""Speculative identity search over HTTP against the sandbox (issue 24): the policy's search starts
once a turn fixes it, only that search, within the budgets; the verdict stays the verdict."""

import collections
import time
from concurrent.futures import Future

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from audit.models import AuditRecord
from calls.models import CallSession
from calls.session import session_store
from calls.session.access_log import AuditContext
from calls.verification import speculation, turns
from tests.calls.conftest import open_call, verify

# The speculation's end runs on worker threads with their own database connections.
pytestmark = pytest.mark.django_db(transaction=True)
SEARCHES = ("/fhir/Patient", "/fhir/Patient/_search")
SLOW_MS = 900


def searches(sandbox) -> list[dict]:
    return [r for r in sandbox.requests() if r["path"] in SEARCHES]


def until_searched(sandbox, count: int = 1, timeout: float = 5.0, *, call_id: str | None = None) -> list[dict]:
    """The search log once `count` searches have been answered and the speculation has kept them
    (with `call_id`: once that call's speculation marker is gone, which it is after its record is kept)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = searches(sandbox)
        if len(found) >= count and call_id is None:
            time.sleep(0.2)  # the worker audits and keeps the candidates
            return found
        if len(found) >= count and cache.get(session_store.marker_key(call_id, "speculating")) is None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"expected {count} patient searches, saw {len(searches(sandbox))}")


def named(patient: dict) -> dict:
    """A birth date and a last name: the default policy's first set then lacks only the SSN's last four."""
    return {"date_of_birth": patient["birth_date"], "family_name": patient["family"]}


def search_records(call_id: str) -> list[str]:
    return list(AuditRecord.objects.filter(call_session=call_id, action="search").values_list("outcome", flat=True))


def test_speculation_sends_only_the_search_the_policy_would_make_and_the_verdict_none(api, patient, sandbox):
    assert verify(api, open_call(api), date_of_birth=patient["birth_date"]).json()["status"] == "needs_more"
    assert verify(api, open_call(api), mrn=patient["mrn"]).json()["status"] == "needs_more"
    time.sleep(0.3)
    assert searches(sandbox) == []  # never a birth date alone, nor an MRN without the birth date its verdict adds...
    other = open_call(api)
    assert verify(api, other, **named(patient)).json()["status"] == "needs_more"
    [search] = until_searched(sandbox)
    # ...and a birth date with a name makes the one search the verdict would: by birth date and family name.
    assert sorted(search["params"] + search["form_params"]) == ["birthdate", "family"], search
    answer = verify(api, other, ssn_last4=patient["ssn_last4"]).json()
    assert answer["status"] == "verified", answer
    assert len(searches(sandbox)) == 1  # the verdict compared in memory
    greeted = api.get(f"/api/v1/calls/{other}/patient").json()
    assert greeted["data"]["family_name"] == patient["family"]  # the record read as the prefetch reads it
    reads = [r for r in sandbox.requests() if r["path"] == f"/fhir/Patient/{patient['id']}"]
    assert len(reads) == 1
    assert search_records(other) == ["success"]  # audited as a search, the verdict as the attempt
    assert AuditRecord.objects.filter(call_session=other, action="verify").get().outcome == "success"


def test_a_wrong_last_factor_after_a_speculation_is_a_failure_like_any_other(api, patient, sandbox):
    direct = open_call(api)
    expected = verify(api, direct, **named(patient), ssn_last4="0000").json()
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    until_searched(sandbox, 2)
    answer = verify(api, call_id, ssn_last4="0000").json()
    assert answer == expected and answer["status"] == "needs_more" and answer["attempts_left"] == 2
    assert CallSession.objects.get(pk=call_id).failed_attempts == 1
    outcomes = AuditRecord.objects.filter(call_session=call_id, action="verify").values_list("outcome", flat=True)
    assert list(outcomes) == ["wrong_details"]
    # The caller starts again from the first identifier: the speculation was used once, not again.
    assert verify(api, call_id, **named(patient), ssn_last4=patient["ssn_last4"]).json()["status"] == "verified"


def test_a_call_ended_during_a_speculative_search_leaves_no_key(api, patient, sandbox):
    sandbox.add_fault("/fhir/Patient*", latency_ms=SLOW_MS)
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    assert api.post(f"/api/v1/calls/{call_id}/end", {"reason": "hangup"}, format="json").status_code == 200
    until_searched(sandbox)
    time.sleep(SLOW_MS / 1000)  # the search is answered, audited and (not) kept
    keys = redis.Redis.from_url(settings.REDIS_URL).keys(f"*{call_id}*")
    assert keys == [], keys
    assert search_records(call_id) == ["success"]  # the search happened and is on the record


def test_the_verdict_waits_for_a_running_speculation_and_never_searches_twice(api, patient, sandbox):
    sandbox.add_fault("/fhir/Patient*", latency_ms=SLOW_MS)
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    started = time.monotonic()
    answer = verify(api, call_id, ssn_last4=patient["ssn_last4"]).json()
    assert answer["status"] == "verified", answer
    assert time.monotonic() - started < SLOW_MS / 1000 + 0.5
    assert len(searches(sandbox)) == 1


def test_past_the_voice_deadline_a_running_speculation_answers_pending_then_the_verdict(
    api, patient, sandbox, settings
):
    settings.VERIFY_VOICE_DEADLINE_S = 0.2
    sandbox.add_fault("/fhir/Patient*", latency_ms=SLOW_MS)
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    first = api.post(f"/api/v1/calls/{call_id}/verify?wait=0", {"ssn_last4": patient["ssn_last4"]}, format="json")
    assert first.status_code == 202 and first.json()["status"] == "pending"
    time.sleep(SLOW_MS / 1000 + 0.3)
    collected = api.post(f"/api/v1/calls/{call_id}/verify?wait=0", {}, format="json").json()
    assert collected["status"] == "verified", collected
    assert len(searches(sandbox)) == 1


def test_a_changed_factor_is_searched_again(api, patient, sandbox):
    call_id = open_call(api)
    verify(api, call_id, date_of_birth=patient["birth_date"], family_name="Nobodyhere")
    until_searched(sandbox)
    verify(api, call_id, family_name=patient["family"])  # the caller corrects the name
    until_searched(sandbox, 2)
    assert verify(api, call_id, ssn_last4=patient["ssn_last4"]).json()["status"] == "verified"
    assert len(searches(sandbox)) == 2


def test_the_needs_more_answer_does_not_wait_for_the_search_nor_tell_what_it_found(api, patient, sandbox):
    """The attacker's view: the turn that starts a speculation answers at once, the same words
    whether the claims match a patient or nobody."""
    sandbox.add_fault("/fhir/Patient*", latency_ms=SLOW_MS)
    answers, took = [], []
    for claims in (named(patient), {"date_of_birth": patient["birth_date"], "family_name": "Nobodyhere"}):
        call_id = open_call(api)
        started = time.monotonic()
        answers.append(verify(api, call_id, **claims).content)
        took.append(time.monotonic() - started)
    assert answers[0] == answers[1]
    assert max(took) < SLOW_MS / 1000 / 2, took


def _round_trips(monkeypatch) -> collections.Counter:
    """Redis commands and SQL statements sent from here on, by kind."""
    sent: collections.Counter = collections.Counter()
    redis_send, sql_send = redis.Redis.execute_command, psycopg.Cursor.execute

    def count_redis(client, *args, **options):
        sent["redis"] += 1
        return redis_send(client, *args, **options)

    def count_sql(cursor, query, *args, **options):
        sent["sql"] += 1
        return sql_send(cursor, query, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", count_redis)
    monkeypatch.setattr(psycopg.Cursor, "execute", count_sql)
    return sent


def test_a_wrong_last_factor_costs_the_same_work_whether_the_claims_named_a_patient(api, patient, sandbox, monkeypatch):
    """The attacker's view of the verdict: answered from memory, its time is the gateway's own work,
    no longer hidden by the EHR's; that work is the same for a real patient's claims and nobody's."""
    work = []
    for family in (patient["family"], "Nobodyhere"):
        call_id = open_call(api)
        verify(api, call_id, date_of_birth=patient["birth_date"], family_name=family)
        until_searched(sandbox, len(work) + 1, call_id=call_id)  # its audit and store writes are done
        with monkeypatch.context() as patched:
            sent = _round_trips(patched)
            answer = verify(api, call_id, ssn_last4="0000").json()
        assert answer["status"] == "needs_more"
        work.append(dict(sent))
    assert work[0] == work[1], work


def test_speculative_searches_draw_from_the_budget_and_stop_when_it_is_spent(api, patient, sandbox, settings):
    """Claims made and abandoned call after call search at most the claimed value's budget."""
    settings.VERIFY_BUDGET_PER_DOB_NAME = 2
    for _ in range(4):
        call_id = open_call(api)
        verify(api, call_id, **named(patient))
        time.sleep(0.3)
        api.post(f"/api/v1/calls/{call_id}/end", {"reason": "hangup"}, format="json")
    assert len(searches(sandbox)) == 2
    answer = verify(api, open_call(api), **named(patient), ssn_last4=patient["ssn_last4"]).json()
    assert answer["status"] == "escalate" and len(searches(sandbox)) == 2  # spent: a person, no search


def test_a_verified_caller_gives_the_speculations_draw_back(api, patient, sandbox, settings):
    """The verdict takes the speculation's reservation over: verified, it returns (the next caller
    with the same claims is searched and verified as well, on a budget of one)."""
    settings.VERIFY_BUDGET_PER_DOB_NAME = 1
    for done in range(1, 4):
        call_id = open_call(api)
        verify(api, call_id, **named(patient))
        until_searched(sandbox, done)
        assert verify(api, call_id, ssn_last4=patient["ssn_last4"]).json()["status"] == "verified"
    assert len(searches(sandbox)) == 3


def test_an_ehr_failure_of_the_speculation_answers_the_verdict_unavailable_without_counting(api, patient, sandbox):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=503, retry_after=7)
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    until_searched(sandbox)
    sandbox.clear_faults()
    response = verify(api, call_id, ssn_last4=patient["ssn_last4"])
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable" and body["retry_after_ms"] == 7000, body
    assert CallSession.objects.get(pk=call_id).failed_attempts == 0
    assert len(searches(sandbox)) == 1  # the one search, not again
    assert search_records(call_id) == ["ehr_unavailable"]
    cache.clear()  # the breaker counted the failure: later tests start closed


def test_a_speculation_finished_after_the_turn_read_is_not_started_again(api, patient, sandbox):
    """A turn read the store while the search ran (its marker, no candidates yet); by the time it
    would start one, the search had kept its candidates: the same search is not made twice."""
    sandbox.add_fault("/fhir/Patient*", latency_ms=300)
    call_id = open_call(api)
    verify(api, call_id, **named(patient))
    seen = session_store.read_ahead(call_id, turns.READ_AHEAD_ENTRIES, turns.READ_AHEAD_MARKERS)
    assert seen.marker(speculation.MARKER) is not None and seen.entry(speculation.RECORD) is None
    until_searched(sandbox, call_id=call_id)
    call = CallSession.objects.select_related("health_system").get(pk=call_id)
    context = AuditContext.of(channel="rest")
    assert not speculation.start(call=call, given=named(patient), context=context, seen=seen)
    time.sleep(0.5)
    assert len(searches(sandbox)) == 1
    assert cache.get(session_store.marker_key(call_id, speculation.MARKER)) is None
    assert verify(api, call_id, ssn_last4=patient["ssn_last4"]).json()["status"] == "verified"
    assert len(searches(sandbox)) == 1


def test_a_turn_that_takes_a_newer_searchs_candidates_leaves_them_for_that_search(api, patient, sandbox):
    """The record a turn awaited was replaced by another search's (a changed factor) before it took it:
    it takes nothing, and the newer record stays for the verdict it is for."""
    call_id = open_call(api)
    newer = {"key": "b" * 64, "candidates": [], "budgets": []}
    assert session_store.put(call_id, speculation.RECORD, newer)
    awaited = Future()
    awaited.set_result({"key": "a" * 64, "candidates": [], "budgets": []})
    call = CallSession.objects.get(pk=call_id)
    assert speculation.take(call, awaited) is None
    kept = session_store.get(call_id, speculation.RECORD)
    assert kept is not None and kept[0] == newer
    same = Future()
    same.set_result(dict(newer))
    assert speculation.take(call, same)["key"] == newer["key"]
    assert session_store.get(call_id, speculation.RECORD) is None
