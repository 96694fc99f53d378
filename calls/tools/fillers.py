"""What the agent says while a slow lookup runs: short, natural and not the same twice in a row.

A health system's own phrases (HealthSystem.filler_phrases) replace the built-in set.
"""

import random

from django.conf import settings
from django.core.cache import cache

from calls.models import CallSession
from calls.session import session_store
from ehr_integrations.models import HealthSystem

GENERAL = (
    "Let me check on that for you.",
    "One moment while I look that up.",
    "Bear with me for just a second.",
    "Give me a moment to pull that up.",
    "Just a second, I'm checking now.",
)
BY_TOOL = {
    "appointments": ("Let me pull up your appointments.", "One moment while I check your schedule."),
    "medications": ("Let me take a look at your medications.", "One moment while I check your prescriptions."),
    "messages": ("Let me check your messages.", "One moment while I look for your messages."),
}


def phrases_for(health_system: HealthSystem, tool: str) -> tuple[str, ...]:
    own = tuple(p for p in health_system.filler_phrases if isinstance(p, str) and p.strip())
    return own or BY_TOOL.get(tool, ()) + GENERAL


def pick(*, call: CallSession, tool: str) -> str:
    """A filler for this tool, never the one this call heard last (when there is a choice)."""
    phrases = phrases_for(call.health_system, tool)
    last = cache.get(session_store.marker_key(str(call.id), "last_filler"))
    phrase = random.choice([p for p in phrases if p != last] or phrases)
    session_store.set_markers(str(call.id), {"last_filler": phrase}, timeout=settings.SESSION_IDLE_TTL_SECONDS)
    return phrase
