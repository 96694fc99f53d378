"""The encrypted, short-lived store of one call's PHI (Redis in production, the cache otherwise).

Each call gets its own random data key. The data key is kept in the cache only wrapped by the
server's at-rest key, so a dump of Redis alone reveals nothing; `destroy` deletes the key first
(crypto-shredding: whatever might survive is unreadable) and then the data. Every entry carries
the idle TTL, renewed by every request of the call (`note_activity`, one round trip), which also
stamps the call's last activity for the sweeper (calls/session/sweeper.py).

The data key is made once, when the call opens (`open_store`), and every later write to the call's
keys, data or markers, happens only while it exists, atomically (cache_batch.py): once `destroy`
has run (or the store expired), nothing a late request or background fetch does creates a key
under the call's id again (issue 18, "ended means ended").
"""

import base64
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import cache

from calls.session.cache_batch import read_if_owner, renew, set_if_present
from calls.session.stored_answers import STORED_TOOLS, variant_names
from compliance import encryption
from ehr_integrations.transport.expiring import ExpiringMap
from ehr_integrations.transport.shared_cache import single_redis

# "call": the verified call's own facts (calls/selectors.verified_call), so its tool calls need no database read.
# "verdict": a pending verify turn's answer, until the next turn collects it (calls/verification/pending_turns.py).
# "speculation": a speculative search's candidates, ids and digests (calls/verification/speculation.py).
# "slot-offers", "bookings": what scheduling offered and booked, by handle (calls/tools/scheduling_calls.py).
# "confirmations": the plans of writes read back and awaiting the caller's yes (calls/tools/confirmations.py).
NAMES = (
    "caller", "identifiers", "patient", "call", "verdict", "speculation", "slot-offers", "bookings", "confirmations",
    *STORED_TOOLS, *variant_names(),
)  # fmt: skip


def _key_name(call_id: str) -> str:
    return f"call:{call_id}:key"


def entry_name(call_id: str, name: str) -> str:
    """The cache key (before the cache's prefix and version) of one of the call's entries (NAMES)."""
    return f"call:{call_id}:data:{name}"


def activity_key(call_id: str) -> str:
    """The epoch time of the call's last request (no PHI; kept for the idle TTL)."""
    return f"call:{call_id}:seen"


def _owner_name(call_id: str) -> str:
    """The agent client the verified call belongs to (its id, no PHI), in plain text for `read_owned`."""
    return f"call:{call_id}:owner"


# Plain entries (no PHI) other modules keep under the call's id, each with its own short TTL: the
# filler it heard last, pending-mode claims and failures (calls/tools/pending.py, by answer name),
# prefetches running (calls/tools/prefetch.py), a speculative search running (calls/verification/speculation.py).
# `destroy` deletes every one listed here.
MARKERS = (
    "last_filler",
    "speculating",
    *(f"pending:{name}" for name in (*STORED_TOOLS, *variant_names(), "verify")),
    *(f"prefetching:{tool}" for tool in (*STORED_TOOLS, "patient")),
)
_LISTED = frozenset(MARKERS)


def marker_key(call_id: str, marker: str) -> str:
    """The cache key of one of the call's markers (MARKERS)."""
    if marker not in _LISTED:
        raise ValueError(f"unlisted call marker {marker!r}: add it to MARKERS so that `destroy` deletes it")
    return f"call:{call_id}:{marker}"


def _all_keys(call_id: str) -> list[str]:
    return [_key_name(call_id), _owner_name(call_id), *(entry_name(call_id, name) for name in NAMES)]


def _ttl() -> int:
    return settings.SESSION_IDLE_TTL_SECONDS


# The data keys this process used lately, so a write does not read the wrapped key back and a read
# does not unwrap it again (a round trip and a decryption each, issue 24). Not the config cache
# (local_cache.py): nothing here changes, it only stops being needed. A key kept after `destroy`
# writes nothing: every write still needs the guard key in the cache (set_if_present).
KEYS_KEPT_S = 300
_wrapped = ExpiringMap(KEYS_KEPT_S, maxsize=20_000)  # call id -> its wrapped data key
_unwrapped = ExpiringMap(KEYS_KEPT_S, maxsize=20_000)  # wrapped data key -> its cipher
NONCE_BYTES = 12  # AES-GCM's 96-bit nonce, random per entry written (a call writes a few dozen under its key)


def _wrapped_key(call_id: str) -> str | None:
    """The open call's data key as stored (wrapped); None once it was destroyed or expired."""
    wrapped = _wrapped.get(call_id)
    if wrapped is None:
        wrapped = cache.get(_key_name(call_id))
    if wrapped is not None:
        _wrapped.put(call_id, wrapped)
    return wrapped


def _cipher(call_id: str) -> AESGCM | None:
    """The open call's data key; None once it was destroyed or expired (or is not ours)."""
    wrapped = _wrapped_key(call_id)
    return None if wrapped is None else _unwrap(wrapped)


def _unwrap(wrapped: object) -> AESGCM | None:
    """The call's data key, unwrapped with the server's at-rest key; None for anything else found
    there (written by someone else into Redis: the call then holds nothing and takes no writes)."""
    found = _unwrapped.get(wrapped) if isinstance(wrapped, str) else None
    if found is None:
        try:
            found = AESGCM(base64.urlsafe_b64decode(encryption.decrypt(wrapped)))
        except (encryption.SecretUnreadable, ValueError, TypeError, AttributeError):  # not a wrapped 256-bit key
            return None
        _unwrapped.put(wrapped, found)
    return found


def open_store(call_id: str, values: dict[str, object] | None = None) -> None:
    """Make a new call's data key and store `values` with it (one round trip): the one write that
    creates the store. A new call's id is new (uuid4): a key already there is replaced."""
    key = AESGCM.generate_key(bit_length=256)
    wrapped = encryption.encrypt(base64.urlsafe_b64encode(key).decode())
    cipher = AESGCM(key)
    _wrapped.put(call_id, wrapped)
    _unwrapped.put(wrapped, cipher)
    cache.set_many({_key_name(call_id): wrapped, **_sealed(call_id, cipher, values or {})}, timeout=_ttl())


def _sealed(call_id: str, cipher: AESGCM, values: dict[str, object]) -> dict[str, str]:
    """Each value encrypted and authenticated with the call's key, bound to the entry it is stored
    under (its name is the associated data): moved to another entry or call, it opens as nothing."""
    at = datetime.now().timestamp()
    sealed = {}
    for name, value in values.items():
        entry, nonce = entry_name(call_id, name), os.urandom(NONCE_BYTES)
        plain = json.dumps({"v": value, "at": at}, default=str).encode()
        sealed[entry] = base64.urlsafe_b64encode(nonce + cipher.encrypt(nonce, plain, entry.encode())).decode()
    return sealed


def _open_entry(cipher: AESGCM, entry: str, sealed: str) -> dict | None:
    """The payload stored under `entry`; None when it does not authenticate there (another entry's,
    another key's, altered, or not ours)."""
    try:
        raw = base64.urlsafe_b64decode(sealed)
        return json.loads(cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], entry.encode()))
    except (InvalidTag, ValueError, TypeError):  # ValueError: not base64, or too short to hold a tag
        return None


def put(call_id: str, name: str, value: object, *, clearing: Iterable[str] = ()) -> bool:
    """Store a JSON-serializable value for the call, encrypted; whether it was stored.

    A call whose store was destroyed (ended) or expired gets nothing back: a late request or
    background fetch must not bring a purged call's PHI back. `clearing`: MARKERS deleted in the same
    round trip (stored or not).
    """
    return put_many(call_id, {name: value}, clearing=clearing)


def put_many(
    call_id: str, values: dict[str, object], *, owner: int | None = None, clearing: Iterable[str] = ()
) -> bool:
    """Store several values for the call at once (see `put`); `owner`: the client `read_owned` admits."""
    cleared = [marker_key(call_id, marker) for marker in clearing]
    cipher = _cipher(call_id)
    if cipher is None:
        if cleared:
            cache.delete_many(cleared)
        return False
    sealed: dict[str, object] = dict(_sealed(call_id, cipher, values))
    if owner is not None:
        sealed[_owner_name(call_id)] = owner
    # `destroy` may have run since the key was read: the guard decides, in the same round trip.
    return set_if_present(_key_name(call_id), sealed, ttl=_ttl(), deleting=cleared)


def set_markers(call_id: str, values: dict[str, object], *, timeout: int, only_new: bool = False) -> bool:
    """Set some of the call's MARKERS for `timeout` seconds while its store is open; whether all were set
    (`only_new`: only those absent, the claim primitive)."""
    keys = {marker_key(call_id, marker): value for marker, value in values.items()}
    return set_if_present(_key_name(call_id), keys, ttl=timeout, only_new=only_new)


def get(call_id: str, name: str) -> tuple[object, float] | None:
    """The stored value and the time it was stored (epoch seconds), or None."""
    return get_many(call_id, (name,)).get(name)


def get_many(call_id: str, names: Iterable[str]) -> dict[str, tuple[object, float]]:
    """What is stored under each of `names` (value, epoch seconds stored), in one round trip."""
    data_keys = {entry_name(call_id, name): name for name in names}
    return _opened(call_id, data_keys, cache.get_many([_key_name(call_id), *data_keys]))


@dataclass(frozen=True)
class Seen:
    """Some of a call's entries and markers as one read found them, at one moment (`read_ahead`).

    For a request that reads each of them once, early: a later read that must see what another
    thread or process wrote since (a search finishing, a turn collecting a verdict) reads again.
    """

    entries: Mapping[str, tuple[object, float]]
    markers: Mapping[str, object]
    read: frozenset[str]  # the entry and marker names read, found or not

    def entry(self, name: str) -> tuple[object, float] | None:
        """As `get` found it; a name that was not read is a KeyError (never a silent None)."""
        if name not in self.read:
            raise KeyError(name)
        return self.entries.get(name)

    def marker(self, marker: str) -> object:
        """The marker's value, None when absent; a marker that was not read is a KeyError."""
        if marker not in self.read:
            raise KeyError(marker)
        return self.markers.get(marker)


def read_ahead(call_id: str, names: Iterable[str], markers: Iterable[str]) -> Seen:
    """`get_many` of `names` and the values of `markers` (MARKERS) in one round trip, with
    `note_activity`'s renewal and stamp: a request that reads ahead is the call's activity."""
    data_keys = {entry_name(call_id, name): name for name in names}
    marker_keys = {marker_key(call_id, marker): marker for marker in markers}
    read = [_key_name(call_id), *data_keys, *marker_keys]
    stamp = (activity_key(call_id), time.time())
    found = renew(_key_name(call_id), _all_keys(call_id), stamp=stamp, ttl=_ttl(), read=read)
    kept = {marker: found[key] for key, marker in marker_keys.items() if key in found}
    return Seen(_opened(call_id, data_keys, found), kept, frozenset([*data_keys.values(), *marker_keys.values()]))


def take(call_id: str, name: str) -> tuple[object, float] | None:
    """Remove what is stored under `name` and return it (value, epoch seconds stored), or None: of
    turns taking it at once only one gets it, and it gets what it removed (GETDEL on Redis)."""
    key = entry_name(call_id, name)
    if single_redis():
        raw = cache.client.get_client(write=True).getdel(cache.client.make_key(key))
        sealed = None if raw is None else cache.client.decode(raw)
    else:  # the embedded demo's local memory: one process, not atomic
        sealed = cache.get(key)
        cache.delete(key)
    if sealed is None:
        return None
    return _opened(call_id, {key: name}, {_key_name(call_id): _wrapped_key(call_id), key: sealed}).get(name)


def read_owned(call_id: str, owner: int, names: Iterable[str]) -> dict[str, tuple[object, float]] | None:
    """`get_many` and `note_activity` in one round trip, if the call is `owner`'s (see `put_many`).

    None, and nothing renewed, when the store holds no owner for the call or another one.
    """
    data_keys = {entry_name(call_id, name): name for name in names}
    read = [_key_name(call_id), *data_keys]
    others = [key for key in _all_keys(call_id) if key not in read and key != _owner_name(call_id)]
    stamp = (activity_key(call_id), time.time())
    found = read_if_owner(_owner_name(call_id), owner, read, renew_also=others, stamp=stamp, ttl=_ttl())
    return None if found is None else _opened(call_id, data_keys, found)


def _opened(call_id: str, data_keys: dict[str, str], found: dict) -> dict[str, tuple[object, float]]:
    wrapped = found.get(_key_name(call_id))
    if wrapped is None:
        return {}
    cipher = _unwrap(wrapped)
    if cipher is None:
        return {}
    values = {}
    for key, name in data_keys.items():
        if key in found and (payload := _open_entry(cipher, key, found[key])) is not None:
            values[name] = (payload["v"], payload["at"])
    return values


def note_activity(call_id: str) -> None:
    """The call is active: renew the idle TTL of everything it holds and stamp the time (one round trip)."""
    renew(_key_name(call_id), _all_keys(call_id), stamp=(activity_key(call_id), time.time()), ttl=_ttl())


def last_activity(call_ids: list[str]) -> dict[str, float]:
    """The epoch time of each call's last request, for calls active within the idle TTL."""
    found = cache.get_many([activity_key(call_id) for call_id in call_ids])
    return {call_id: found[activity_key(call_id)] for call_id in call_ids if activity_key(call_id) in found}


def destroy(call_id: str) -> None:
    """Shred the call's key with its data, stamp and markers (every key under its id), in one DEL:
    Redis runs a command whole, so no reader sees the data without the key or the key without it."""
    _wrapped.pop(call_id)
    markers = [marker_key(call_id, marker) for marker in MARKERS]
    cache.delete_many([*_all_keys(call_id), activity_key(call_id), *markers])  # the key first
