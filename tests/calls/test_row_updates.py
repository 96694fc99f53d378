"""Updates of the call row by fixed statements: the same rows changed as the ORM's update, values only as parameters."""

import datetime

import pytest
from django.db.models import F

from calls.models import CallSession, CallState
from calls.session.row_updates import update_rows
from tests import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls():
    system = builders.health_system(slug="riverside")
    client = builders.agent_client("Ours", system)
    return [CallSession.objects.create(agent_client=client, health_system=system) for _ in range(3)]


def test_only_the_row_meeting_every_condition_changes(calls):
    first, second, third = calls
    CallSession.objects.filter(pk=second.pk).update(failed_attempts=3)
    for call in calls:
        update_rows(CallSession, where=[("id", "=", call.pk), ("failed_attempts", "<", 3)], add={"failed_attempts": 1})
    counts = dict(CallSession.objects.values_list("id", "failed_attempts"))
    assert counts == {first.pk: 1, second.pk: 3, third.pk: 1}
    assert update_rows(
        CallSession, where=[("id", "=", first.pk), ("failed_attempts", ">", 0)], add={"failed_attempts": -1}
    )
    assert not update_rows(
        CallSession, where=[("id", "=", first.pk), ("failed_attempts", ">", 0)], add={"failed_attempts": -1}
    )
    assert CallSession.objects.get(pk=first.pk).failed_attempts == 0


def test_in_and_assignments_match_the_orms_update(calls):
    first, second, _ = calls
    ended_at = datetime.datetime(2026, 12, 1, 22, 0, 0, 123456, tzinfo=datetime.UTC)
    reason = 'caller\'s "goodbye"; DROP TABLE calls_callsession; --'  # a value, never SQL
    active = ("unverified", "verified", "escalated")
    changed = update_rows(
        CallSession,
        where=[("id", "=", str(first.pk)), ("state", "in", active)],
        assign={"state": CallState.ENDED, "ended_at": ended_at, "end_reason": reason},
    )
    assert changed == 1
    CallSession.objects.filter(pk=second.pk, state__in=active).update(
        state=CallState.ENDED, ended_at=ended_at, end_reason=reason, failed_attempts=F("failed_attempts")
    )
    ours, orms = CallSession.objects.get(pk=first.pk), CallSession.objects.get(pk=second.pk)
    assert (ours.state, ours.ended_at, ours.end_reason) == (orms.state, orms.ended_at, orms.end_reason)
    assert ours.end_reason == reason and CallSession.objects.count() == 3
    assert (
        update_rows(CallSession, where=[("id", "=", first.pk), ("state", "in", active)], assign={"state": "verified"})
        == 0
    )


@pytest.mark.parametrize(
    "where",
    [[], [("id", "LIKE", "x")], [("state", "in", [])], [("state", "in", "verified")], [("ended_at", "=", None)]],
)
def test_a_statement_it_cannot_build_safely_is_refused(calls, where):
    with pytest.raises(ValueError):
        update_rows(CallSession, where=where, assign={"end_reason": "x"})
    assert not CallSession.objects.exclude(end_reason="").exists()
