"""Per-process copies of configuration: kept for LOCAL_CACHE_SECONDS, dropped at once by a local save."""

import time

import pytest

from ehr_integrations import local_cache
from ehr_integrations.connection_config import connection_config
from ehr_integrations.models import EHRConnection, HealthSystem
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
