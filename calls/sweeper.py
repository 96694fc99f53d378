"""Ending calls abandoned without `end`: their PHI is purged after the idle TTL."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from calls.call_sessions import ACTIVE_STATES, end_call
from calls.models import CallSession


def end_abandoned_calls() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TTL_SECONDS)
    abandoned = CallSession.objects.filter(state__in=ACTIVE_STATES, last_activity_at__lt=cutoff)
    count = 0
    for call in abandoned.iterator():
        end_call(call=call, reason="idle_timeout")
        count += 1
    return count
