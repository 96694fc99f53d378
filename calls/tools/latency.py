"""A running estimate of each EHR tool endpoint's latency, per health system, shared by every process.

An exponentially weighted moving average in the shared cache. Concurrent updates may lose one
sample to a race; an estimate is all `retry_after_ms` needs, so no lock is taken.
"""

from django.core.cache import cache

WEIGHT = 0.3  # of the newest sample
DEFAULT_MS = 1500  # before the first sample
MIN_MS, MAX_MS = 200, 10_000  # what we tell an agent to wait
KEEP_S = 7 * 24 * 3600


def _key(health_system: str, tool: str) -> str:
    return f"latency:{health_system}:{tool}"


def observe(*, health_system: str, tool: str, seconds: float) -> None:
    """Fold one measured fetch duration into the estimate."""
    observe_many(health_system=health_system, durations={tool: seconds})


def observe_many(*, health_system: str, durations: dict[str, float]) -> None:
    """Fold several tools' measured durations into their estimates (two cache round trips in all)."""
    keys = {tool: _key(health_system, tool) for tool in durations}
    previous = cache.get_many(list(keys.values()))
    estimates = {}
    for tool, seconds in durations.items():
        sample, before = seconds * 1000, previous.get(keys[tool])
        estimates[keys[tool]] = sample if before is None else WEIGHT * sample + (1 - WEIGHT) * before
    cache.set_many(estimates, timeout=KEEP_S)


def estimate_ms(*, health_system: str, tool: str) -> int:
    """The expected duration of the tool's next fetch, in milliseconds, within sane bounds."""
    estimate = cache.get(_key(health_system, tool), DEFAULT_MS)
    return int(min(MAX_MS, max(MIN_MS, estimate)))
