"""Ending calls abandoned without `end`: their PHI is purged after the idle TTL.

Requests note a call's activity in the session store only (calls/session_store.note_activity), so
the sweeper first copies each active call's last activity into `last_activity_at`; a call is
abandoned when neither has seen it within the idle TTL.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from calls.models import CallSession
from calls.session import session_store
from calls.session.call_sessions import ACTIVE_STATES, end_call


def record_activity() -> int:
    """Copy the store's activity stamps of active calls into the database; returns how many moved on."""
    known = dict(CallSession.objects.filter(state__in=ACTIVE_STATES).values_list("id", "last_activity_at"))
    seen = session_store.last_activity([str(call_id) for call_id in known])
    newer = [
        CallSession(id=call_id, last_activity_at=at)
        for call_id, last in known.items()
        if str(call_id) in seen and (at := datetime.fromtimestamp(seen[str(call_id)], UTC)) > last
    ]
    CallSession.objects.bulk_update(newer, ["last_activity_at"], batch_size=500)
    return len(newer)


def end_abandoned_calls() -> int:
    record_activity()
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TTL_SECONDS)
    abandoned = CallSession.objects.filter(state__in=ACTIVE_STATES, last_activity_at__lt=cutoff)
    count = 0
    for call in abandoned.iterator():
        end_call(call=call, reason="idle_timeout")
        count += 1
    return count
