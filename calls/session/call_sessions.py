"""Opening and ending calls. Ending purges everything PHI-bearing the call held."""

from django.utils import timezone

from calls.models import AgentClient, CallSession, CallState
from calls.session import events, session_store
from calls.session.baa_gate import ensure_covered
from calls.session.row_inserts import insert_row
from calls.session.row_updates import update_rows
from calls.session.selectors import health_system_for_client
from ehr_integrations.models import HealthSystem

ACTIVE_STATES = (CallState.UNVERIFIED, CallState.VERIFIED, CallState.ESCALATED)


def open_call(
    *, client: AgentClient, health_system: HealthSystem, caller_phone: str | None, external_id: str
) -> CallSession:
    call = CallSession(agent_client=client, health_system=health_system, external_id=external_id)
    insert_row(call)  # nothing listens to a call row's save
    session_store.open_store(str(call.id), {CALLER: caller_phone} if caller_phone else None)
    return call


def open_for_client(*, client: AgentClient, slug: str, caller_phone: str | None, external_id: str) -> CallSession:
    """Open a call at one of the client's health systems (404 if not its own, 403 without a current BAA)."""
    system = health_system_for_client(client=client, slug=slug)
    ensure_covered(client=client, health_system=system)
    return open_call(client=client, health_system=system, caller_phone=caller_phone, external_id=external_id)


CALLER = "caller"  # the session store's entry of the caller's number


def caller_phone(call: CallSession, seen: session_store.Seen | None = None) -> str | None:
    """The number the call came from, if the agent gave it (as `seen` found it, when given)."""
    stored = seen.entry(CALLER) if seen is not None else session_store.get(str(call.id), CALLER)
    return stored[0] if stored else None


def note_activity(call: CallSession) -> None:
    """Keep the call and its stored data alive (one store round trip, no database write).

    The sweeper copies the activity into `last_activity_at` (calls/session/sweeper.py).
    """
    session_store.note_activity(str(call.id))


def end_call(*, call: CallSession, reason: str) -> None:
    """Purge the call's PHI and mark it ended (idempotent). After it `call` holds the row's state,
    ended_at and end_reason; its other fields are as they were (a store-built call's are not the row's)."""
    session_store.destroy(str(call.id))
    ending = {"state": CallState.ENDED, "ended_at": timezone.now(), "end_reason": reason[:64]}
    if update_rows(CallSession, where=[("id", "=", call.pk), ("state", "in", ACTIVE_STATES)], assign=ending):
        for name, value in ending.items():  # what the row now holds, without reading it back
            setattr(call, name, value)
        events.publish(str(call.id), {"event": "ended", "call_id": str(call.id)})
    else:  # ended before (another request, the sweeper): how it ended then
        call.refresh_from_db()
