"""What a server's answers refused at run time, remembered per connection for an hour.

`$match` answered 403/404/405/501 (or an OperationOutcome `not-supported`), `POST [type]/_search`
answered 404/405: the next caller goes straight to the fallback instead of paying for the refusal
again. Test connection forgets them (the site may have changed), and so does the hour.
"""

from django.core.cache import cache

from ehr_integrations.transport import shared_cache
from ehr_integrations.transport.connection import ConnectionConfig

KEPT_S = 3600
NAMES = ("match", "post_search")


def key(health_system_id: int, name: str) -> str:
    return f"ehr:{health_system_id}:refused:{name}"


async def refused(config: ConnectionConfig, *, deadline: float) -> frozenset[str]:
    """The refusals remembered for this connection (none known when the shared cache is down)."""
    keys = {key(config.health_system_id, name): name for name in NAMES}
    try:
        found = await shared_cache.get_many(list(keys), deadline=deadline)
    except shared_cache.CacheUnavailable:
        return frozenset()  # not knowing costs one refused request at worst
    return frozenset(name for k, name in keys.items() if found.get(k))


async def remember(config: ConnectionConfig, name: str, *, deadline: float) -> None:
    try:
        await shared_cache.set(key(config.health_system_id, name), True, KEPT_S, deadline=deadline)
    except shared_cache.CacheUnavailable:
        pass


def forget(health_system_id: int) -> None:
    """Calling thread (Test connection): every refusal of this connection is asked again."""
    cache.delete_many([key(health_system_id, name) for name in NAMES])
