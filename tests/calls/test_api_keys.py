"""API keys: a key that worked stops working at once when it is revoked or its client is disabled."""

import pytest
from django.utils import timezone

from calls.edges import api_keys
from calls.models import AgentClient, ApiKey

pytestmark = pytest.mark.django_db


def _answers(api) -> int:
    return api.get("/api/v1/tools").status_code


def test_a_revoked_key_is_refused_right_after_it_was_used(api, agent):
    assert _answers(api) == 200
    api_keys.revoke(ApiKey.objects.get(agent_client=agent))
    assert _answers(api) == 401


def test_a_key_revoked_in_the_admin_is_refused(api, agent):
    assert _answers(api) == 200
    key = ApiKey.objects.get(agent_client=agent)
    key.revoked_at = timezone.now()
    key.save()
    assert _answers(api) == 401


def test_a_disabled_client_is_refused(api, agent):
    assert _answers(api) == 200
    client = AgentClient.objects.get(pk=agent.pk)
    client.enabled = False
    client.save()
    assert _answers(api) == 401
