from celery import shared_task
from django.utils import timezone

from compliance.reminders import send_due_reminders


@shared_task(ignore_result=True)
def send_baa_reminders() -> int:
    """Beat task: send the BAA expiry reminders that are due (each once)."""
    return len(send_due_reminders(today=timezone.localdate()))
