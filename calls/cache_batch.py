"""Renewing a call's entries' idle TTL and stamping its activity in one cache round trip.

With django-redis on one server (`shared_cache.single_redis`) this is one pipelined request
(EXPIRE per key, SET of the stamp); with any other cache backend (the embedded demo's local
memory) the same operations run one by one. Errors surface as the Redis client raises them
(envelope.STORE_FAILURES turns them into a typed answer).
"""

from django.core.cache import cache

from ehr_integrations import shared_cache


def renew(keys: list[str], *, stamp: tuple[str, object], ttl: int) -> None:
    """Give every existing key of `keys` `ttl` again, and set `stamp` (key, value) for `ttl`."""
    if not shared_cache.single_redis():
        for key in keys:
            cache.touch(key, timeout=ttl)
        cache.set(*stamp, timeout=ttl)
        return
    client = cache.client
    pipe = client.get_client(write=True).pipeline(transaction=False)
    for key in keys:
        pipe.expire(client.make_key(key), ttl)
    pipe.set(client.make_key(stamp[0]), client.encode(stamp[1]), ex=ttl)
    pipe.execute()
