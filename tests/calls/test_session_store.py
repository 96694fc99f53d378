"""The owned read: one round trip that answers and renews only for the call's owner, on either cache;
and nothing written to a call's store creates a key once it was destroyed."""

import uuid

import pytest
from django.core.cache import cache

from calls.session import session_store

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "owned-read"}}


@pytest.fixture(params=["redis", "locmem"])
def backend(request, settings):
    if request.param == "locmem":
        settings.CACHES = LOCMEM
    return request.param


def opened() -> str:
    call_id = str(uuid.uuid4())
    session_store.open_store(call_id)
    return call_id


def test_the_owner_reads_what_is_stored_and_keeps_the_call_alive(backend):
    call_id = opened()
    session_store.put_many(call_id, {"patient": {"id": "p-1"}, "call": {"client": 7}}, owner=7)
    found = session_store.read_owned(call_id, 7, {"patient", "call", "appointments"})
    assert {name: value for name, (value, _) in found.items()} == {"patient": {"id": "p-1"}, "call": {"client": 7}}
    assert cache.get(session_store.activity_key(call_id)) is not None


def test_another_client_reads_nothing_and_renews_nothing(backend):
    call_id = opened()
    session_store.put_many(call_id, {"patient": {"id": "p-1"}}, owner=7)
    assert session_store.read_owned(call_id, 8, {"patient"}) is None
    assert cache.get(session_store.activity_key(call_id)) is None


def test_a_call_without_an_owner_is_read_by_nobody(backend):
    call_id = opened()
    session_store.put_many(call_id, {"patient": {"id": "p-1"}})  # before verification: no owner stored
    assert session_store.read_owned(call_id, 7, {"patient"}) is None
    session_store.put_many(call_id, {"call": {"client": 7}}, owner=7)
    session_store.destroy(call_id)
    assert session_store.read_owned(call_id, 7, {"patient"}) is None


def test_nothing_is_written_for_a_call_whose_store_was_destroyed(backend):
    call_id = opened()
    session_store.destroy(call_id)
    assert session_store.put(call_id, "identifiers", {"date_of_birth": "1961-04-02"}) is False
    assert session_store.put_many(call_id, {"call": {"client": 7}}, owner=7) is False
    assert session_store.set_markers(call_id, {"pending:verify": "running"}, timeout=60, only_new=True) is False
    session_store.note_activity(call_id)
    names = ["key", "owner", "seen", "data:identifiers", "data:call", "pending:verify"]
    assert cache.get_many([f"call:{call_id}:{name}" for name in names]) == {}


def test_a_marker_not_listed_cannot_be_written():
    with pytest.raises(ValueError, match="MARKERS"):
        session_store.marker_key("c", "somewhere_else")


def test_a_read_ahead_holds_entries_and_markers_of_one_moment_and_only_those_it_read(backend):
    call_id = opened()
    session_store.put_many(call_id, {"identifiers": {"date_of_birth": "1961-04-02"}})
    session_store.set_markers(call_id, {"speculating": "digest"}, timeout=60)
    seen = session_store.read_ahead(call_id, ("identifiers", "verdict"), ("speculating", "pending:verify"))
    session_store.put(call_id, "verdict", {"kind": "Verified"})  # after the read: not in it
    assert seen.entry("identifiers")[0] == {"date_of_birth": "1961-04-02"} and seen.entry("verdict") is None
    assert seen.marker("speculating") == "digest" and seen.marker("pending:verify") is None
    with pytest.raises(KeyError):
        seen.entry("patient")  # not read: never mistaken for absent
    with pytest.raises(KeyError):
        seen.marker("last_filler")
    session_store.destroy(call_id)
    gone = session_store.read_ahead(call_id, ("identifiers",), ("speculating",))
    assert gone.entry("identifiers") is None and gone.marker("speculating") is None


def test_a_put_drops_the_markers_it_clears_in_the_same_step_stored_or_not(backend):
    call_id = opened()
    marker = session_store.marker_key(call_id, "prefetching:appointments")
    session_store.set_markers(call_id, {"prefetching:appointments": 1.0}, timeout=60)
    assert session_store.put(call_id, "appointments", [{"when": "x"}], clearing=["prefetching:appointments"])
    assert cache.get(marker) is None and session_store.get(call_id, "appointments")[0] == [{"when": "x"}]
    session_store.destroy(call_id)
    cache.set(marker, 1.0, 60)  # a prefetch's marker outliving its call
    assert session_store.put(call_id, "appointments", [], clearing=["prefetching:appointments"]) is False
    assert cache.get(marker) is None and session_store.get(call_id, "appointments") is None


def test_a_store_opens_with_its_values_and_a_key_of_its_own(backend):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    session_store.open_store(first, {"caller": "+15550100"})
    session_store.open_store(second)
    assert session_store.get(first, "caller")[0] == "+15550100" and session_store.get(second, "caller") is None
    keys = cache.get_many([f"call:{first}:key", f"call:{second}:key"])
    assert len(set(keys.values())) == 2  # each call's data key, wrapped: never shared


def test_a_read_ahead_keeps_an_open_call_alive_and_writes_nothing_for_an_ended_one(backend):
    call_id = opened()
    session_store.put(call_id, "identifiers", {"last_name": "Okafor"})
    cache.touch(f"call:{call_id}:data:identifiers", 5)
    session_store.read_ahead(call_id, ("identifiers",), ())
    assert cache.get(session_store.activity_key(call_id)) is not None
    if backend == "redis":  # the idle TTL given back to what the call holds
        assert cache.ttl(f"call:{call_id}:data:identifiers") > 5
    session_store.destroy(call_id)
    session_store.read_ahead(call_id, ("identifiers",), ("speculating",))
    assert cache.get(session_store.activity_key(call_id)) is None


def test_a_take_returns_what_it_removed_and_only_once(backend):
    call_id = opened()
    session_store.put(call_id, "speculation", {"key": "k1"})
    taken = session_store.take(call_id, "speculation")
    assert taken[0] == {"key": "k1"} and session_store.take(call_id, "speculation") is None
    assert session_store.get(call_id, "speculation") is None


def _raw(call_id: str, name: str) -> str:
    return cache.get(f"call:{call_id}:data:{name}")


def test_what_redis_holds_of_an_entry_is_no_plaintext_and_opens_only_where_it_was_written(backend):
    """Someone with write access to Redis moves a sealed entry: to another entry of the call (the
    caller's claims as its verified facts) or to another call; it opens as nothing in both."""
    marker = "MARKER-SEALED-7f3a"
    call_id, other = opened(), opened()
    session_store.put_many(call_id, {"caller": {"name": marker}, "call": {"client": 7}}, owner=7)
    session_store.put_many(other, {"call": {"client": 8}}, owner=8)
    assert marker not in _raw(call_id, "caller")
    cache.set(f"call:{call_id}:data:call", _raw(call_id, "caller"), timeout=60)
    cache.set(f"call:{other}:data:call", _raw(call_id, "caller"), timeout=60)
    assert session_store.get(call_id, "caller")[0] == {"name": marker}  # the entry where it was written
    assert session_store.get(call_id, "call") is None
    assert session_store.get(other, "call") is None


def test_an_altered_or_foreign_entry_opens_as_nothing(backend):
    call_id = opened()
    session_store.put(call_id, "patient", {"id": "p-1"})
    sealed = _raw(call_id, "patient")
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    for stored in (flipped, "not base64 at all!", "", sealed[:10]):
        cache.set(f"call:{call_id}:data:patient", stored, timeout=60)
        assert session_store.get(call_id, "patient") is None


@pytest.mark.parametrize(
    "planted",
    ["not a wrapped key", 12345, {"a": 1}, b"\x00\x01", "PLANTED-SEALED"],
    ids=["text", "int", "dict", "bytes", "sealed-other"],
)
def test_whatever_is_planted_as_the_calls_key_leaves_it_holding_nothing_and_never_raises(backend, planted):
    from compliance import encryption

    call_id = opened()
    session_store.put_many(call_id, {"patient": {"id": "p-1"}, "call": {"client": 7}}, owner=7)
    # A value sealed with the server's key that is no data key (an access token's, say) is refused too.
    key = f"call:{call_id}:key"
    if isinstance(planted, bytes) and backend == "redis":  # raw bytes, not a value the cache encodes
        cache.client.get_client(write=True).set(cache.make_key(key), planted, ex=60)
    else:
        cache.set(key, encryption.encrypt("not a key") if planted == "PLANTED-SEALED" else planted, timeout=60)
    session_store._wrapped.pop(call_id)  # another process, which has not seen the real key
    assert session_store.get(call_id, "patient") is None
    assert session_store.read_owned(call_id, 7, {"patient", "call"}) == {}
    assert session_store.read_ahead(call_id, ["patient"], []).entry("patient") is None
    assert session_store.put(call_id, "patient", {"id": "p-2"}) is False
