"""Celery tasks: thin shells that take ids and call one service."""

from celery import shared_task

from calls.session import sweeper
from calls.tools import followups


@shared_task(ignore_result=True)
def retry_followup(followup_id: int) -> str:
    return followups.retry(followup_id)


@shared_task(ignore_result=True)
def retry_open_followups() -> int:
    ids = followups.open_ids()
    for followup_id in ids:
        retry_followup.delay(followup_id)
    return len(ids)


@shared_task(ignore_result=True)
def end_abandoned_calls() -> int:
    return sweeper.end_abandoned_calls()
