"""A new row inserted with a statement built once is the row the ORM's create writes."""

import pytest
from django.db import IntegrityError, transaction

from calls.models import CallSession
from calls.session.row_inserts import insert_row
from tests import builders

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in CallSession._meta.concrete_fields if field.attname != "id"]
STAMPS = {"created_at", "last_activity_at"}


def test_the_row_is_the_one_create_writes_field_for_field():
    system = builders.health_system(slug="riverside")
    client = builders.agent_client("Ours", system)
    made = CallSession.objects.create(agent_client=client, health_system=system, external_id="ext-1")
    ours = CallSession(agent_client=client, health_system=system, external_id="ext-1", metrics={"turns": [1]})
    insert_row(ours)
    read, expected = CallSession.objects.get(pk=ours.pk), CallSession.objects.get(pk=made.pk)
    same = [name for name in FIELDS if name not in STAMPS | {"metrics"}]
    assert [getattr(read, name) for name in same] == [getattr(expected, name) for name in same]
    assert read.metrics == {"turns": [1]} and all(getattr(read, name) == getattr(ours, name) for name in STAMPS)
    assert ours.created_at is not None and ours._state.adding is False  # auto_now_add stamped the instance


def test_a_row_that_breaks_a_constraint_is_refused_and_the_transaction_stays_usable():
    system = builders.health_system(slug="riverside")
    client = builders.agent_client("Ours", system)
    first = CallSession(agent_client=client, health_system=system)
    insert_row(first)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(CallSession(id=first.id, agent_client=client, health_system=system))
    assert CallSession.objects.filter(pk=first.pk).count() == 1
    with pytest.raises(ValueError):
        insert_row(CallSession(id=None, agent_client=client, health_system=system))
