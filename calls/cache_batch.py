"""Reading a call's entries and renewing their idle TTL in one cache round trip.

With django-redis this is one pipelined request (MGET, EXPIRE per key, SET of the activity stamp);
with any other cache backend (the embedded demo's local memory) the same operations run one by one.
Errors surface as the Redis client raises them (envelope.STORE_FAILURES turns them into a typed answer).
"""

from django.core.cache import cache


def _redis():
    """django-redis's client, or None for another backend."""
    client = getattr(cache, "client", None)
    return client if hasattr(client, "get_client") else None


def read_and_renew(read: list[str], *, renew: list[str], stamp: tuple[str, object] | None, ttl: int) -> dict:
    """The values of `read` that exist; every key of `renew` gets `ttl` again and `stamp` is set for `ttl`."""
    client = _redis()
    if client is None:
        found = cache.get_many(read)
        for key in renew:
            cache.touch(key, timeout=ttl)
        if stamp:
            cache.set(*stamp, timeout=ttl)
        return found
    names = {client.make_key(key): key for key in read}
    pipe = client.get_client(write=True).pipeline(transaction=False)
    if names:
        pipe.mget(list(names))
    for key in renew:
        pipe.expire(client.make_key(key), ttl)
    if stamp:
        pipe.set(client.make_key(stamp[0]), client.encode(stamp[1]), ex=ttl)
    results = pipe.execute()
    values = results[0] if names else []
    return {names[key]: client.decode(value) for key, value in zip(names, values, strict=True) if value is not None}
