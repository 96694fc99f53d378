"""A call's row read with a statement built once gives the instance the ORM gives, and only the client's own."""

import uuid

import pytest
from django.http import Http404

from calls.models import CallSession, CallState
from calls.session.row_reads import RowReader
from calls.session.selectors import call_for_client
from tests import builders

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in CallSession._meta.concrete_fields]


@pytest.fixture
def two_clients():
    system = builders.health_system(slug="riverside")
    return system, builders.agent_client("Ours", system), builders.agent_client("Theirs", system)


def test_the_row_is_the_orms_instance_field_for_field(two_clients):
    system, ours, _ = two_clients
    call = CallSession.objects.create(
        agent_client=ours, health_system=system, external_id="ext-1", metrics={"turns": [1, 2], "ok": True}
    )
    CallSession.objects.filter(pk=call.pk).update(state=CallState.VERIFIED, failed_attempts=2)
    expected = CallSession.objects.get(pk=call.pk)
    read = RowReader(CallSession, "id", "agent_client_id").one(call.pk, ours.pk)
    assert [getattr(read, name) for name in FIELDS] == [getattr(expected, name) for name in FIELDS]
    assert read.metrics == {"turns": [1, 2], "ok": True}  # the JSON column decoded, as the ORM does
    assert read._state.adding is False and read._state.db == "default"
    read.end_reason = "saved like any instance"
    read.save(update_fields=["end_reason"])
    assert CallSession.objects.get(pk=call.pk).end_reason == "saved like any instance"


def test_another_clients_call_is_not_found_nor_is_a_malformed_id(two_clients):
    system, ours, theirs = two_clients
    call = CallSession.objects.create(agent_client=ours, health_system=system)
    assert call_for_client(client=ours, call_id=str(call.pk)).pk == call.pk
    for client, call_id in ((theirs, call.pk), (ours, uuid.uuid4()), (ours, "not-a-uuid"), (ours, "' OR 1=1 --")):
        with pytest.raises(Http404):
            call_for_client(client=client, call_id=call_id)
