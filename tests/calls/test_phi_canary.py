"""A whole call with a patient's identifiers as canaries: none may surface outside the answers."""

import logging
import re

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection

from calls.models import FollowUp
from calls.tasks import end_abandoned_calls, retry_open_followups
from tests.calls.conftest import SECRET, open_call, verify, wait_for_prefetch

pytestmark = pytest.mark.django_db


def canaries(patient: dict) -> dict[str, re.Pattern]:
    values = {
        "birth_date": patient["birth_date"],
        "mrn": patient["mrn"],
        "ssn_last4": patient["ssn_last4"],
        "given": patient["given"],
        "family": patient["family"],
        "caller_phone": CALLER_PHONE,
    }
    return {name: re.compile(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])") for name, v in values.items()}


CALLER_PHONE = "+15555550142"


def leaks(text: str, patterns: dict[str, re.Pattern]) -> list[str]:
    return [name for name, pattern in patterns.items() if pattern.search(text)]


def database_text() -> dict[str, str]:
    tables = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from introspection)
            tables[table] = repr(cursor.fetchall())
    return tables


def test_a_full_call_leaves_no_identifier_or_secret_in_answers_logs_tasks_redis_or_tables(
    api, patient, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    task_args: list[str] = []

    def capture(sender=None, args=None, kwargs=None, **_):
        task_args.append(repr((args, kwargs)))

    task_prerun.connect(capture)
    try:
        patterns = canaries(patient)
        sandbox.add_fault("/fhir/Communication*", outage=True)  # a failure path too: follow-up + retry task
        call_id = open_call(api, caller_phone=CALLER_PHONE)
        answers = [
            verify(api, call_id, date_of_birth=patient["birth_date"], ssn_last4="0000"),
            verify(api, call_id, family_name=patient["family"]),
            verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]),
        ]
        wait_for_prefetch(call_id, names=("appointments", "medications"))
        answers += [api.get(f"/api/v1/calls/{call_id}/{tool}") for tool in ("appointments", "medications", "messages")]
        FollowUp.objects.update(next_attempt_at=timezone.now())  # its retry is due, so the sweep runs it
        retry_open_followups.delay()
        answers.append(api.post(f"/api/v1/calls/{call_id}/end", {}, format="json"))
        end_abandoned_calls.delay()

        # The EHR client secret is a canary too: never in an answer, a log line, Redis or a table.
        secret = {"client_secret": re.compile(re.escape(SECRET))}
        assert leaks(" ".join(a.content.decode() for a in answers), patterns | secret) == []
        patterns |= secret

        assert leaks(caplog.text, patterns) == []
        assert task_args and leaks(" ".join(task_args), patterns) == []
        redis = get_redis_connection("default")
        stored = b" ".join(k + b"=" + (redis.dump(k) or b"") for k in redis.scan_iter("*"))
        assert leaks(stored.decode("latin-1"), patterns) == []
        for table, text in database_text().items():
            assert leaks(text, patterns) == [], table
    finally:
        task_prerun.disconnect(capture)
