"""Celery tasks (eager here): the proactive token refresh and the scheduled key rotation."""

import time
from datetime import timedelta

import pytest

from ehr_integrations import tasks
from ehr_integrations.auth import token_cache
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import KeyStatus, SigningKey
from ehr_integrations.transport import io_loop
from tests.ehr_integrations.sandbox_systems import secret_system, token_requests


def _use(system) -> None:
    deadline = deadline_in(5)
    client = fhir_client(connection_config(system))
    io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)


@pytest.mark.django_db
def test_beat_refresh_renews_a_token_near_its_end_and_leaves_a_fresh_one_alone(sandbox, settings):
    settings.EHR_TOKEN_MIN_REFRESH_INTERVAL_S = 0
    settings.EHR_TOKEN_REFRESH_AHEAD = 0.5
    sandbox.set_token_lifetime(2)
    system = secret_system(sandbox)
    _use(system)
    assert tasks.refresh_expiring_tokens() == 1
    assert len(token_requests(sandbox)) == 1  # fresh: left alone
    time.sleep(1.1)
    tasks.refresh_token(system.pk)
    assert len(token_requests(sandbox)) == 2
    waits = token_cache.STATS.waits
    _use(system)
    assert token_cache.STATS.waits == waits


@pytest.mark.django_db
def test_beat_refresh_does_not_fetch_for_a_connection_nobody_uses(sandbox):
    secret_system(sandbox)
    tasks.refresh_expiring_tokens()
    assert token_requests(sandbox) == []


@pytest.mark.django_db
def test_scheduled_rotation_publishes_a_successor_for_an_old_key(health_system, settings):
    settings.SIGNING_KEY_MAX_AGE_DAYS = 90
    connection_config(health_system)  # creates the first key
    SigningKey.objects.update(created_at=SigningKey.objects.get().created_at - timedelta(days=91))
    assert tasks.rotate_signing_keys() == 1
    assert SigningKey.objects.filter(status=KeyStatus.PUBLISHED).count() == 1
    tasks.rotate_signing_keys()  # idempotent: the successor is already waiting
    assert SigningKey.objects.filter(status=KeyStatus.PUBLISHED).count() == 1
