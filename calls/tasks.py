"""Celery tasks: thin shells that take ids and call one service."""

from celery import shared_task

from calls.session import sweeper
from calls.tools import followups


@shared_task(name="calls.tasks.retry_followup", ignore_result=True)
def retry_followup(followup_id: int) -> str:
    """One attempt at a follow-up; the service queues the next one (its countdown and cap live in the row)."""
    return followups.retry(followup_id).outcome


@shared_task(name="calls.tasks.retry_open_followups", ignore_result=True)
def retry_open_followups() -> int:
    """Safety net under the follow-ups' own retries: give back stuck claims, enqueue what is overdue."""
    followups.reclaim_stuck()
    ids = followups.due_ids()
    for followup_id in ids:
        retry_followup.delay(followup_id)
    return len(ids)


@shared_task(name="calls.tasks.end_abandoned_calls", ignore_result=True)
def end_abandoned_calls() -> int:
    return sweeper.end_abandoned_calls()
