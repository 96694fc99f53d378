"""After the call, nothing of it remains in Redis, and its data cannot be read back."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_redis import get_redis_connection

from calls.models import CallSession
from calls.session import session_store
from calls.session.sweeper import end_abandoned_calls
from tests.calls.conftest import verified_call, wait_for_prefetch

pytestmark = pytest.mark.django_db


def keys_of(call_id: str) -> list[bytes]:
    return list(get_redis_connection("default").scan_iter(f"*{call_id}*"))


def test_end_removes_every_key_of_the_call(api, patient):
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    assert keys_of(call_id)
    assert api.post(f"/api/v1/calls/{call_id}/end", {"reason": "caller hung up"}, format="json").status_code == 200
    assert keys_of(call_id) == []
    assert session_store.get(call_id, "appointments") is None
    assert api.get(f"/api/v1/calls/{call_id}/appointments").status_code == 410


def abandon(call_id: str) -> None:
    """What an hour of silence leaves: an old last activity, and the store's stamp expired with the idle TTL."""
    CallSession.objects.filter(pk=call_id).update(last_activity_at=timezone.now() - timedelta(hours=1))
    cache.delete(session_store.activity_key(call_id))


def test_sweeper_ends_abandoned_calls(api, patient):
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    abandon(call_id)
    assert end_abandoned_calls() == 1
    assert keys_of(call_id) == []
    call = CallSession.objects.get(pk=call_id)
    assert (call.state, call.end_reason) == ("ended", "idle_timeout")


def test_a_call_active_through_its_store_is_kept_and_its_activity_recorded(api, patient):
    """Tool calls note activity in the store only; the sweeper copies it to the database first."""
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    abandon(call_id)
    assert api.get(f"/api/v1/calls/{call_id}/appointments").json()["source"] == "prefetch"
    before = timezone.now()
    assert end_abandoned_calls() == 0
    call = CallSession.objects.get(pk=call_id)
    assert call.state == "verified"
    assert timezone.now() - call.last_activity_at < timedelta(seconds=5) and call.last_activity_at <= before


def test_stored_data_is_encrypted_and_unreadable_without_the_call_key(api, patient):
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    redis = get_redis_connection("default")
    raw = b"".join(redis.get(k) or b"" for k in keys_of(call_id))
    assert patient["given"].encode() not in raw and patient["mrn"].encode() not in raw
    key_name = next(k for k in keys_of(call_id) if k.endswith(b":key"))
    redis.delete(key_name)
    assert session_store.get(call_id, "patient") is None
