import threading

import pytest
from django.db import connection

from audit.models import AuditSeal
from audit.sealing import seal_pending
from audit.verification import verify_audit_log
from tests.audit.factories import phi_access


def test_records_are_sealed_in_id_order_with_each_link_following_the_last(db):
    records = [phi_access(correlation_id=f"c{n}") for n in range(4)]

    assert seal_pending() == 4

    seals = list(AuditSeal.objects.order_by("position"))
    assert [s.record_id for s in seals] == [r.pk for r in records]
    assert [s.position for s in seals] == [1, 2, 3, 4]
    assert all(b.previous_hash == a.hash for a, b in zip(seals, seals[1:], strict=False))


def test_sealing_twice_seals_nothing_new(db):
    phi_access()
    seal_pending()

    assert seal_pending() == 0
    assert AuditSeal.objects.count() == 1


def test_sealing_continues_the_chain_across_batches(db):
    for n in range(7):
        phi_access(correlation_id=f"c{n}")

    assert seal_pending(batch=3) == 7
    assert verify_audit_log().intact


def test_writing_a_record_does_not_touch_the_chain(db):
    phi_access()

    assert AuditSeal.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_never_interleave():
    for n in range(60):
        phi_access(correlation_id=f"c{n}")
    errors: list[BaseException] = []

    def sealer():
        try:
            for _ in range(5):
                seal_pending(batch=7)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert list(AuditSeal.objects.order_by("position").values_list("position", flat=True)) == list(range(1, 61))
    assert verify_audit_log().intact
