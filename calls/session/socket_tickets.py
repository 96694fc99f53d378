"""Tickets for the call's WebSocket: short-lived and single-use, so an agent key never travels in a URL.

`POST /api/v1/calls/{id}/ws-ticket` (authenticated by the key in its header) issues one; the socket
presents it as `?ticket=`. Only the ticket's hash is stored, in the shared cache, for TICKET_TTL_S;
the first redemption deletes it (a concurrent second one loses the delete and is refused), and a
ticket presented for another call is used up too.
"""

import hashlib
import secrets
from uuid import UUID

from django.core.cache import cache

from calls.models import AgentClient

TICKET_TTL_S = 60


def _key(ticket: str) -> str:
    return "ws-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def issue(*, client: AgentClient, call_id: UUID) -> str:
    """A new ticket for this client's socket on this call."""
    ticket = secrets.token_urlsafe(32)
    cache.set(_key(ticket), {"client": client.pk, "call": str(call_id)}, TICKET_TTL_S)
    return ticket


def redeem(*, ticket: str, call_id: str) -> AgentClient | None:
    """The enabled client the ticket was issued to for this call, once; None for anything else."""
    if not ticket or len(ticket) > 128:
        return None
    key = _key(ticket)
    issued = cache.get(key)
    if not isinstance(issued, dict) or not cache.delete(key) or issued.get("call") != call_id:
        return None
    return AgentClient.objects.filter(pk=issued.get("client"), enabled=True).first()
