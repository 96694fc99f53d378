"""A call's store entries in one cache round trip: renewing their idle TTL and stamping activity,
optionally after checking the call's owner and reading some of them.

With django-redis on one server (`shared_cache.single_redis`) `renew` is one pipelined request
(EXPIRE per key, SET of the stamp) and `read_if_owner` one Lua script (atomic); with any other
cache backend (the embedded demo's local memory) the same operations run one by one. Errors
surface as the Redis client raises them (envelope.STORE_FAILURES turns them into a typed answer).
"""

from django.core.cache import cache

from ehr_integrations.transport import shared_cache

# KEYS: owner, stamp, then the keys to renew, the first ARGV[4] of which are read.
# ARGV: the owner expected, the TTL in seconds, the stamp's encoded value, how many keys to read.
_READ_IF_OWNER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local read = {}
for i = 3, 2 + tonumber(ARGV[4]) do read[#read + 1] = KEYS[i] end
local values = redis.call('MGET', unpack(read))
local ttl = tonumber(ARGV[2])
redis.call('EXPIRE', KEYS[1], ttl)
for i = 3, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
return values
"""


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


def read_if_owner(
    owner_key: str, owner: int, read: list[str], *, renew_also: list[str], stamp: tuple[str, object], ttl: int
) -> dict | None:
    """If `owner_key` holds `owner`: the entries of `read` that exist, every key renewed as `renew` does.

    None, and nothing renewed, when the owner differs or is not stored.
    """
    if not shared_cache.single_redis():
        if cache.get(owner_key) != owner:
            return None
        found = cache.get_many(read)
        renew([owner_key, *read, *renew_also], stamp=stamp, ttl=ttl)
        return found
    client = cache.client
    # A Script per call (it only hashes the text): under ASGI each request has a client of its own.
    script = client.get_client(write=True).register_script(_READ_IF_OWNER)
    keys = [client.make_key(key) for key in (owner_key, stamp[0], *read, *renew_also)]
    values = script(keys=keys, args=[client.encode(owner), ttl, client.encode(stamp[1]), len(read)])
    if values is None:
        return None
    return {key: client.decode(value) for key, value in zip(read, values, strict=True) if value is not None}
