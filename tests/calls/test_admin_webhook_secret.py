"""Onboarding engineers set a voice platform's webhook secret in the admin: stored encrypted, never shown."""

import pytest
from django.urls import reverse

from calls.edges.webhooks.common import secret_for
from calls.models import WebhookSecret

pytestmark = pytest.mark.django_db
SECRET = "whsec-canary-5521"


def _inline_post(agent, **rows) -> dict:
    prefix = "webhook_secrets"
    data = {
        "name": agent.name,
        "enabled": "on",
        "business_associate": agent.business_associate_id,
        "health_systems": [s.pk for s in agent.health_systems.all()],
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
    }
    data.update({f"{prefix}-0-{name}": value for name, value in rows.items()})
    return data


def test_a_webhook_secret_set_in_the_admin_verifies_webhooks_and_is_never_shown(client, onboarding_engineer, agent):
    client.force_login(onboarding_engineer)
    url = reverse("admin:calls_agentclient_change", args=[agent.pk])
    response = client.post(url, _inline_post(agent, platform="vapi", secret=SECRET))
    assert response.status_code == 302, response.content[:3000]
    stored = WebhookSecret.objects.get(agent_client=agent, platform="vapi")
    assert SECRET not in stored.secret_encrypted
    assert secret_for(agent, "vapi") == SECRET
    assert SECRET.encode() not in client.get(url).content


def test_a_new_webhook_secret_without_a_value_names_the_field(client, onboarding_engineer, agent):
    client.force_login(onboarding_engineer)
    url = reverse("admin:calls_agentclient_change", args=[agent.pk])
    response = client.post(url, _inline_post(agent, platform="retell", secret=""))
    assert response.status_code == 200
    assert b"required for a new webhook secret" in response.content
    assert not WebhookSecret.objects.exists()
