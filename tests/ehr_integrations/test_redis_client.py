"""Our django-redis client decodes every value as django-redis's own does, on the real cache."""

import os
import pickle
import uuid

import pytest
from django.core.cache import cache
from django_redis.client import DefaultClient

from ehr_integrations.transport.redis_client import GatewayClient
from ehr_integrations.transport.shared_cache import single_redis

# What the gateway caches: JSON's types (the serializer is JSON: settings.CACHES).
VALUES = [
    0, 1, -1, 7, 10**30, -(10**30), True, False, None, 1.5, -0.0, -2.25,
    "", "12", " 12", "+3", "-", "text with é", "\x80 not a pickle",
    [1, "a"], [], {"v": {"nested": [1, 2]}, "at": 1.25}, {}, "x" * 5000,
]  # fmt: skip


def test_the_gateway_runs_our_client_and_still_counts_as_one_redis():
    assert isinstance(cache.client, GatewayClient)
    assert single_redis()


class _Planted:
    """A pickle that runs code when loaded: what someone with write access to Redis would plant."""

    def __reduce__(self):
        return (exec, ("import os; os.environ['PLANTED_PICKLE_RAN'] = '1'",))


def test_a_pickle_planted_in_redis_is_never_loaded(monkeypatch):
    monkeypatch.delenv("PLANTED_PICKLE_RAN", raising=False)
    key = f"decode-test:{uuid.uuid4()}"
    cache.client.get_client(write=True).set(cache.make_key(key), pickle.dumps(_Planted()), ex=30)
    try:
        assert cache.get(key) is None  # not JSON: nothing there
        assert "PLANTED_PICKLE_RAN" not in os.environ
    finally:
        cache.delete(key)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_value_reads_back_as_django_redis_reads_it(value):
    key = f"decode-test:{uuid.uuid4()}"
    cache.set(key, value, timeout=30)
    raw = cache.client.get_client(write=False).get(cache.make_key(key))
    try:
        assert cache.get(key) == value
        assert type(cache.get(key)) is type(value)
        assert cache.client.decode(raw) == DefaultClient.decode(cache.client, raw)
    finally:
        cache.delete(key)


@pytest.mark.parametrize("raw", [b"12", b" -7\n", b"+5", b"1_000", b"-2.5", b'"text"', b"[1]"])
def test_what_django_redis_reads_reads_the_same(raw):
    """Integers are stored as their digits, everything else as JSON: read as django-redis reads them."""
    assert cache.client.decode(raw) == DefaultClient.decode(cache.client, raw)


@pytest.mark.parametrize(
    "raw", [b"0x10", b"\x80\x04K\x01.", b"\x00\x01", b"{not json", "\udcff".encode(errors="surrogatepass")]
)
def test_what_no_serializer_of_ours_wrote_reads_as_nothing(raw):
    assert cache.client.decode(raw) is None
