"""The channel layer on the real Redis: a send to a group nobody listens on is one round trip, and
the group is read as channels_redis reads it (expired members dropped, live ones delivered to)."""

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from calls.session.channel_layer import GatewayChannelLayer

MESSAGE = {"type": "call.event", "event": {"event": "ended"}}


@pytest.fixture
def layer():
    if "GatewayChannelLayer" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("the Redis channel layer runs with REDIS_URL")
    return GatewayChannelLayer(hosts=[settings.REDIS_URL], prefix=f"test-{uuid.uuid4().hex[:8]}")


class Trips:
    """Commands the layer sends alone and pipelines it executes: its round trips to Redis."""

    def __init__(self, monkeypatch) -> None:
        self.alone, self.pipelines = 0, 0
        alone, pipelined = aioredis.Redis.execute_command, aioredis.client.Pipeline.execute

        async def counted_alone(client, *args, **kwargs):
            self.alone += 1
            return await alone(client, *args, **kwargs)

        async def counted_pipeline(pipe, *args, **kwargs):
            self.pipelines += 1
            return await pipelined(pipe, *args, **kwargs)

        monkeypatch.setattr(aioredis.Redis, "execute_command", counted_alone)
        monkeypatch.setattr(aioredis.client.Pipeline, "execute", counted_pipeline)


def test_a_send_to_a_group_nobody_listens_on_is_one_round_trip(layer, monkeypatch):
    trips = Trips(monkeypatch)
    asyncio.run(layer.group_send("call.nobody", MESSAGE))
    assert (trips.alone, trips.pipelines) == (0, 1)


def test_an_expired_member_is_dropped_and_gets_nothing(layer):
    async def scenario() -> tuple[int, object]:
        channel = await layer.new_channel()
        stale = time.time() - layer.group_expiry - 10
        connection = layer.connection(layer.consistent_hash("call.stale"))
        await connection.zadd(layer._group_key("call.stale"), {channel: stale})
        await layer.group_send("call.stale", MESSAGE)
        members = await connection.zcard(layer._group_key("call.stale"))
        try:
            received = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
        except TimeoutError:
            received = None
        return members, received

    assert asyncio.run(scenario()) == (0, None)


def test_a_listening_member_receives_the_event(layer):
    async def scenario() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("call.live", channel)
        await layer.group_send("call.live", MESSAGE)
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.flush()
        return received

    assert asyncio.run(scenario()) == MESSAGE
