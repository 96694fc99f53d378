"""What a server's answers refused at run time, remembered per connection for an hour.

`$match` answered 403/404/405/501 (or an OperationOutcome `not-supported`), `POST [type]/_search`
answered 404/405: the next caller goes straight to the fallback instead of paying for the refusal
again. Test connection forgets them (the site may have changed), and so does the hour.

Each process keeps what it read for LOCAL_CACHE_SECONDS (local_cache.py), since every EHR request
asks (one round trip each, five a call, issue 24): a refusal another process learned reaches this
one within that time, and until then costs at most the refused request it would have cost anyway.
"""

from django.core.cache import cache

from ehr_integrations.transport import shared_cache
from ehr_integrations.transport.connection import ConnectionConfig
from ehr_integrations.transport.local_cache import LocalCache

KEPT_S = 3600
NAMES = ("match", "post_search")
_copies = LocalCache("refusals")  # health system id -> frozenset of names, read from the shared cache


def key(health_system_id: int, name: str) -> str:
    return f"ehr:{health_system_id}:refused:{name}"


async def refused(config: ConnectionConfig, *, deadline: float) -> frozenset[str]:
    """The refusals remembered for this connection (none known when the shared cache is down)."""
    kept = _copies.get(config.health_system_id)
    if kept is not None:
        return kept
    keys = {key(config.health_system_id, name): name for name in NAMES}
    try:
        found = await shared_cache.get_many(list(keys), deadline=deadline)
    except shared_cache.CacheUnavailable:
        return frozenset()  # not knowing costs one refused request at worst (and is not kept)
    names = frozenset(name for k, name in keys.items() if found.get(k))
    _copies.put(config.health_system_id, names)
    return names


async def remember(config: ConnectionConfig, name: str, *, deadline: float) -> None:
    try:
        await shared_cache.set(key(config.health_system_id, name), True, KEPT_S, deadline=deadline)
    except shared_cache.CacheUnavailable:
        pass
    _copies.forget(config.health_system_id)  # read again, with this one in it


def forget(health_system_id: int) -> None:
    """Calling thread (Test connection): every refusal of this connection is asked again (by other
    processes once their copy expires)."""
    cache.delete_many([key(health_system_id, name) for name in NAMES])
    _copies.forget(health_system_id)  # after the shared delete, so this process's next read finds none
