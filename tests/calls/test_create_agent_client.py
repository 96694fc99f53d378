from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from calls.edges.api_keys import client_for_key
from calls.models import ApiKey


@pytest.mark.django_db
def test_prints_a_key_once_and_stores_only_its_hash(health_system):
    out = StringIO()
    call_command("create_agent_client", "Acme", "--health-system", health_system.slug, stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    client = client_for_key(key)
    assert client is not None and client.name == "Acme"
    assert list(client.health_systems.all()) == [health_system]
    stored = ApiKey.objects.get(agent_client=client)
    assert key not in (stored.key_hash, stored.prefix)
    assert client_for_key(key[:-1] + ("x" if key[-1] != "x" else "y")) is None


@pytest.mark.django_db
def test_unknown_health_system_is_refused():
    with pytest.raises(CommandError, match="unknown health system"):
        call_command("create_agent_client", "Acme", "--health-system", "nowhere")
