"""A call's store entries in one cache round trip: renewing their idle TTL and stamping activity,
optionally after checking the call's owner and reading some of them; writing entries only while
the call's guard key (its data key) exists.

With django-redis on one server (`shared_cache.single_redis`) each operation is one Lua script
(atomic: a write either happens before `destroy` deletes the guard, and is deleted with the rest,
or finds no guard and creates nothing); with any other cache backend (the embedded demo's local
memory) the same operations run one by one. Errors surface as the Redis client raises them
(envelope.STORE_FAILURES turns them into a typed answer).
"""

import functools
from collections.abc import Callable

from django.core.cache import cache
from redis.commands.core import Script

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


# KEYS: the guard, the keys to set, then ARGV[3] keys to delete whatever happens.
# ARGV: the TTL in seconds, "1" to set only absent keys, how many to delete, the values.
_SET_IF_PRESENT = """
local deleting = tonumber(ARGV[3])
if deleting > 0 then redis.call('DEL', unpack(KEYS, #KEYS - deleting + 1, #KEYS)) end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local stored = 1
for i = 2, #KEYS - deleting do
  local ok
  if ARGV[2] == '1' then
    ok = redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[1], 'NX')
  else
    ok = redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[1])
  end
  if not ok then stored = 0 end
end
return stored
"""
# KEYS: the guard, the stamp, the keys to renew, then the last ARGV[3] keys are read (and not renewed).
# ARGV: the TTL in seconds, the stamp's encoded value, how many to read.
_RENEW = """
local reading = tonumber(ARGV[3])
local values = {}
if reading > 0 then values = redis.call('MGET', unpack(KEYS, #KEYS - reading + 1, #KEYS)) end
if redis.call('EXISTS', KEYS[1]) == 0 then return values end
local ttl = tonumber(ARGV[1])
for i = 3, #KEYS - reading do redis.call('EXPIRE', KEYS[i], ttl) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
return values
"""


_scripts: dict[str, Script] = {}  # by text: the module constants here and in the verification modules


def script(text: str) -> Callable[..., object]:
    """A Lua script on the default cache's Redis (only when `shared_cache.single_redis()`), to call
    with `keys=` and `args=`: hashed once per process, run on this thread's client."""
    client = cache.client.get_client(write=True)
    known = _scripts.get(text)
    if known is None:
        known = _scripts[text] = client.register_script(text)
    return functools.partial(known, client=client)


def redis_keys(*keys: str) -> list[str]:
    """The keys as the default cache names them in Redis (prefix and version)."""
    return [cache.client.make_key(key) for key in keys]


def set_if_present(
    guard: str, values: dict[str, object], *, ttl: int, only_new: bool = False, deleting: list[str] | None = None
) -> bool:
    """Set `values` (key -> value) for `ttl` seconds if `guard` exists; whether every one was set
    (`only_new`: a key that exists already is left as it is, as `cache.add` does). `deleting`: keys
    deleted in the same step, whether or not the guard exists."""
    deleting = deleting or []
    if not shared_cache.single_redis():
        try:  # the values first: a reader that sees a marker gone finds what it marked
            if cache.get(guard) is None:
                return False
            if only_new:
                return all([cache.add(key, value, timeout=ttl) for key, value in values.items()])
            cache.set_many(values, timeout=ttl)
            return True
        finally:
            if deleting:
                cache.delete_many(deleting)
    client = cache.client
    keys = [client.make_key(key) for key in (guard, *values, *deleting)]
    args = [ttl, "1" if only_new else "0", len(deleting), *(client.encode(value) for value in values.values())]
    return bool(script(_SET_IF_PRESENT)(keys=keys, args=args))


def renew(guard: str, keys: list[str], *, stamp: tuple[str, object], ttl: int, read: list[str] | None = None) -> dict:
    """If `guard` exists: give every existing key of `keys` `ttl` again, and set `stamp` (key, value)
    for `ttl`. Without the guard (the call ended, or its store expired) nothing is written.
    `read`: keys read in the same step (whether or not the guard exists); what it found of them."""
    read = read or []
    if not shared_cache.single_redis():
        found = cache.get_many(read) if read else {}
        if cache.get(guard) is None:
            return found
        for key in keys:
            cache.touch(key, timeout=ttl)
        cache.set(*stamp, timeout=ttl)
        return found
    client = cache.client
    redis_keys = [client.make_key(key) for key in (guard, stamp[0], *keys, *read)]
    values = script(_RENEW)(keys=redis_keys, args=[ttl, client.encode(stamp[1]), len(read)])
    return {key: client.decode(value) for key, value in zip(read, values or [], strict=True) if value is not None}


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
        renew(owner_key, [owner_key, *read, *renew_also], stamp=stamp, ttl=ttl)
        return found
    client = cache.client
    read_script = script(_READ_IF_OWNER)
    keys = [client.make_key(key) for key in (owner_key, stamp[0], *read, *renew_also)]
    values = read_script(keys=keys, args=[client.encode(owner), ttl, client.encode(stamp[1]), len(read)])
    if values is None:
        return None
    return {key: client.decode(value) for key, value in zip(read, values, strict=True) if value is not None}
