"""`Retry-After` (RFC 9110 section 10.2.3) in both forms, and a hold every process honours.

When an EHR answers 429 (or 503) with Retry-After, no request from any gateway process may reach
that health system before the time has passed; the hold lives in the shared cache.
"""

import asyncio
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.transport import shared_cache

MAX_HOLD_S = 3600.0


def parse(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait: from delay-seconds ("2") or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_HOLD_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - now), MAX_HOLD_S)


def key(health_system_id: int) -> str:
    """The cache key of the health system's hold (for callers that read it with other keys in one round trip)."""
    return f"ehr:hold:{health_system_id}"


async def hold(health_system_id: int, seconds: float) -> None:
    """Ask every process to send nothing to this health system for `seconds`."""
    until = time.time() + seconds
    try:
        current = await shared_cache.get(key(health_system_id)) or 0.0
        if until > current:
            await shared_cache.set(key(health_system_id), until, seconds + 1)
    except shared_cache.CacheUnavailable:
        pass  # the retry loop still waits for this request; other processes will get their own 429


async def wait_for_hold(until: float | None, *, deadline: float) -> bool:
    """Sleep until a shared hold (the value under `key`, epoch seconds) has passed, or fail at once
    if it outlasts the deadline. Returns whether it slept."""
    remaining = (until or 0.0) - time.time()
    if remaining <= 0:
        return False
    if time.monotonic() + remaining > deadline:
        raise EHRUnavailable("rate_limited", retry_after=remaining)
    await asyncio.sleep(remaining)
    return True
