"""Per-process copies of configuration: kept for LOCAL_CACHE_SECONDS, dropped at once by a local save."""

import threading
import time

import pytest

from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.transport import local_cache
from tests import builders


def test_entries_expire_and_misses_are_not_kept(settings):
    settings.LOCAL_CACHE_SECONDS = 0.2
    cache = local_cache.LocalCache("test-expiry")
    loads = []
    assert cache.get_or_load("k", lambda: loads.append(1)) is None
    assert cache.get_or_load("k", lambda: loads.append(2) or "v") == "v"
    assert cache.get_or_load("k", lambda: loads.append(3) or "w") == "v"  # still fresh
    time.sleep(0.25)
    assert cache.get_or_load("k", lambda: loads.append(4) or "w") == "w"
    assert loads == [1, 2, 4]


@pytest.mark.django_db
def test_a_saved_connection_is_read_again_at_once(django_assert_num_queries):
    system = builders.health_system(slug="riverside")
    first = connection_config(system)
    with django_assert_num_queries(0):
        assert connection_config(system) is first
    connection = EHRConnection.objects.get(health_system=system)
    connection.read_timeout_s = 7
    connection.save()
    assert connection_config(system).read_timeout_s == 7


@pytest.mark.django_db
def test_a_queryset_update_is_seen_after_clear_all():
    system = builders.health_system(slug="riverside")
    connection_config(system)
    EHRConnection.objects.filter(health_system=system).update(read_timeout_s=9)  # sends no signal
    local_cache.clear_all()
    assert connection_config(HealthSystem.objects.get(pk=system.pk)).read_timeout_s == 9


def _wait_for(condition, timeout=2.0):
    ends = time.monotonic() + timeout
    while not condition() and time.monotonic() < ends:
        time.sleep(0.01)
    return condition()


LIFETIME_S = 1.2


def _past_half_its_time(settings, name: str) -> local_cache.LocalCache:
    """A cache of 1.2 s whose copy "v1" of "k" is 0.7 s old: due for a refresh, not expired."""
    settings.LOCAL_CACHE_SECONDS = LIFETIME_S
    cache = local_cache.LocalCache(name)
    cache.get_or_load("k", lambda: "v1")
    time.sleep(0.7)
    return cache


def test_a_copy_in_use_is_read_again_in_the_background_before_it_expires(settings):
    cache = _past_half_its_time(settings, "test-refresh-ahead")
    started = time.monotonic()
    assert cache.get_or_load("k", lambda: time.sleep(0.3) or "v2") == "v1"  # answered at once
    assert time.monotonic() - started < 0.25
    assert _wait_for(lambda: cache.get("k") == "v2")
    time.sleep(0.6)  # v1 would have expired by now; the refreshed copy has not
    assert cache.get_or_load("k", lambda: "v3") == "v2"


def test_a_refresh_that_began_before_a_clear_does_not_bring_back_the_old_copy(settings):
    cache = _past_half_its_time(settings, "test-refresh-clear")
    release = threading.Event()
    cache.get_or_load("k", lambda: release.wait(2) and "read before the change")
    cache.clear()  # a local save: the refresh in flight read the old rows
    release.set()
    time.sleep(0.2)
    assert cache.get_or_load("k", lambda: "read after the change") == "read after the change"


def test_a_failed_background_refresh_keeps_the_copy_until_it_expires(settings):
    cache = _past_half_its_time(settings, "test-refresh-fails")

    def broken():
        raise RuntimeError("database down")

    assert cache.get_or_load("k", broken) == "v1"
    time.sleep(0.1)
    assert cache.get("k") == "v1"
    time.sleep(0.5)  # expired now: the next read waits for the database again
    assert cache.get_or_load("k", lambda: "v2") == "v2"


def test_a_copy_that_is_gone_when_refreshed_is_not_served_any_longer(settings):
    cache = _past_half_its_time(settings, "test-refresh-gone")
    assert cache.get_or_load("k", lambda: None) == "v1"  # e.g. the API key was revoked meanwhile
    assert _wait_for(lambda: cache.get("k") is None)
    assert cache.get_or_load("k", lambda: None) is None


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_background_refreshes_keep_one_database_connection(settings):
    """Each refresh used to close its connection: a connect (and a database backend) every few seconds
    per cache and process. The refresh thread keeps its connection for CONN_MAX_AGE, as request threads do."""
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0  # the test settings keep connections
    settings.LOCAL_CACHE_SECONDS = 1.0
    cache = local_cache.LocalCache("test-refresh-connection")
    cache.get_or_load("k", lambda: 0)
    pids = []
    for round_number in range(1, 4):
        time.sleep(0.6)  # past half its time, 0.4 s before it expires
        cache.get_or_load("k", lambda: pids.append(_backend_pid()) or round_number)
        assert _wait_for(lambda n=round_number: cache.get("k") == n)
    assert len(pids) == 3 and len(set(pids)) == 1
