"""Our django-redis client decodes every value as django-redis's own does, on the real cache."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django_redis.client import DefaultClient

from ehr_integrations.transport.redis_client import GatewayClient
from ehr_integrations.transport.shared_cache import single_redis

VALUES = [
    0, 1, -1, 7, 10**30, -(10**30), True, False, None, 1.5, -0.0, Decimal("2.50"),
    "", "12", " 12", "+3", "-", "text with é", b"", b"12", b"\x80\x04", bytes(range(256)),
    [1, "a"], (1, 2), {"v": {"nested": [1, 2]}, "at": 1.25}, {1, 2}, uuid.uuid4(),
    datetime(2026, 12, 3, tzinfo=UTC), "x" * 5000,
]  # fmt: skip


def test_the_gateway_runs_our_client_and_still_counts_as_one_redis():
    assert isinstance(cache.client, GatewayClient)
    assert single_redis()


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


@pytest.mark.parametrize("raw", [b"12", b" -7\n", b"+5", b"1_000", b"0x10"])
def test_digits_stored_by_others_decode_as_before(raw):
    """Integers are stored as their digits: whatever int() read before, it reads now (and what it refused)."""
    try:
        expected = DefaultClient.decode(cache.client, raw)
    except Exception as refused:  # noqa: BLE001 (the same refusal is expected)
        with pytest.raises(type(refused)):
            cache.client.decode(raw)
    else:
        assert cache.client.decode(raw) == expected
