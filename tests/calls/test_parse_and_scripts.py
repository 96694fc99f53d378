"""Work done once per process on the request path, checked for what it must not change: the defaults a
call without values gets, and Lua scripts that Redis may forget."""

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework import serializers

from calls.registry.inputs import Input, parse, serializer_for
from calls.session import cache_batch

pytestmark = pytest.mark.django_db


def test_no_values_get_the_defaults_each_time_as_a_new_dict():
    defaults = serializer_for("CountedQuery", (Input("count", "integer", default=3), Input("note", "string")))
    first = parse(defaults, {})
    assert first == {"count": 3}
    first["count"] = 99  # what one request does with its values is not the next one's default
    assert parse(defaults, {}) == {"count": 3}
    assert parse(defaults, {"count": "5"}) == {"count": 5}


def test_a_required_input_is_asked_for_every_time_no_values_come():
    needed = serializer_for("NeededQuery", (Input("visit_type", "string", required=True),))
    for _ in range(2):
        with pytest.raises(serializers.ValidationError) as refused:
            parse(needed, {})
        assert "visit_type" in refused.value.detail


def test_a_script_redis_forgot_is_loaded_again():
    cache.set("guard", "1", 30)
    assert cache_batch.set_if_present("guard", {"kept": "a"}, ttl=30)
    redis.Redis.from_url(settings.REDIS_URL).script_flush()  # as a Redis restart or failover does
    assert cache_batch.set_if_present("guard", {"kept": "b"}, ttl=30)
    assert cache.get("kept") == "b"
    cache.delete("guard")
    assert not cache_batch.set_if_present("guard", {"kept": "c"}, ttl=30)
    assert cache.get("kept") == "b"
