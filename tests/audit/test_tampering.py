"""A superuser who disables the triggers and edits, deletes or swaps rows is caught by verification."""

import pytest
from django.core.management import CommandError, call_command

from audit import chain
from audit.digests import export_digest
from audit.models import AuditRecord, AuditSeal
from audit.sealing import seal_pending
from audit.verification import verify_audit_log
from tests.audit.factories import phi_access
from tests.audit.tamper import as_superuser_without_triggers


@pytest.fixture(autouse=True)
def _digests_in_tmp(settings, tmp_path):
    settings.AUDIT_DIGEST_DIR = tmp_path / "digests"


@pytest.fixture
def records(db):
    made = [phi_access(patient_reference=f"pat-{n}", correlation_id=f"corr-{n}") for n in range(1, 6)]
    seal_pending()
    return made


def test_intact_log_verifies(records):
    report = verify_audit_log()

    assert report.intact
    assert (report.checked, report.head_position) == (5, 5)


def test_edited_record_is_named_as_altered(records):
    as_superuser_without_triggers(("UPDATE audit_auditrecord SET outcome = 'denied' WHERE id = %s", [records[2].pk]))

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position, problem.record_id) == ("altered", 3, records[2].pk)


def test_deleted_record_is_named_as_missing(records):
    as_superuser_without_triggers(("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk]))

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position, problem.record_id) == ("missing", 2, records[1].pk)
    assert problem.event_id == str(records[1].event_id)


def test_deleted_record_and_its_seal_leave_a_gap(records):
    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal WHERE record_id = %s", [records[1].pk]),
        ("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk]),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("missing", 2)


def test_swapped_record_contents_are_named_as_reordered(records):
    second, third = records[1], records[2]
    swap = "UPDATE audit_auditrecord SET event_id = %s, patient_reference = %s, correlation_id = %s WHERE id = %s"
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET event_id = gen_random_uuid() WHERE id = %s", [third.pk]),
        (swap, [third.event_id, third.patient_reference, third.correlation_id, second.pk]),
        (swap, [second.event_id, second.patient_reference, second.correlation_id, third.pk]),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position, problem.record_id) == ("reordered", 2, second.pk)


def test_swapped_seals_are_named_as_reordered(records):
    as_superuser_without_triggers(
        ("UPDATE audit_auditseal SET position = -position WHERE position IN (2, 3)", []),
        ("UPDATE audit_auditseal SET position = 3 WHERE position = -2", []),
        ("UPDATE audit_auditseal SET position = 2 WHERE position = -3", []),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("reordered", 2)


def test_reforged_seal_without_the_key_is_caught(records, settings):
    target = records[3]
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET patient_reference = 'pat-x' WHERE id = %s", [target.pk])
    )
    settings.AUDIT_HMAC_KEY = "attacker-guess"
    seal = AuditSeal.objects.get(position=4)
    forged = chain.link(position=4, previous_hash=seal.previous_hash, record=AuditRecord.objects.get(pk=target.pk))
    as_superuser_without_triggers(("UPDATE audit_auditseal SET hash = %s WHERE position = 4", [forged]))
    settings.AUDIT_HMAC_KEY = "embedded-development-only-audit-hmac-key"

    problem = verify_audit_log().problem

    assert (problem.kind, problem.record_id) == ("altered", target.pk)


def test_truncated_tail_is_caught_by_the_exported_digest(records):
    export_digest()
    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal WHERE position >= 4", []),
        ("DELETE FROM audit_auditrecord WHERE id >= %s", [records[3].pk]),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("missing", 4)


def test_whole_table_rewritten_and_resealed_with_the_key_is_caught_by_the_digest(records):
    export_digest()
    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal", []),
        ("UPDATE audit_auditrecord SET patient_reference = 'pat-x' WHERE id = %s", [records[0].pk]),
    )
    seal_pending()  # the attacker re-seals a self-consistent chain

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("altered", 5)
    assert "digest" in problem.detail


def test_record_inserted_unsealed_long_ago_is_reported(records):
    as_superuser_without_triggers(
        (
            "INSERT INTO audit_auditrecord (event_id, recorded_at, health_system, agent_client, correlation_id, action,"
            " resource_types, resource_ids, data_category, purpose, outcome)"
            " VALUES (gen_random_uuid(), now() - interval '3 days', 'riverside', 'x', 'c', 'read', '[]', '[]',"
            " 'x', 'y', 'success')",
            [],
        ),
    )
    seal_pending()  # the look-back does not reach it

    problem = verify_audit_log().problem

    assert problem.kind == "unsealed"


def test_verify_command_names_the_first_bad_record(records):
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET action = 'search' WHERE id IN (%s, %s)", [records[1].pk, records[3].pk])
    )

    with pytest.raises(
        CommandError, match=f"altered: position 2, record id {records[1].pk}, event {records[1].event_id}"
    ):
        call_command("verify_audit_log")


def test_verify_command_reports_an_intact_log(records, capsys):
    call_command("verify_audit_log")

    assert "intact: 5 records verified" in capsys.readouterr().out


def test_shifting_a_record_in_time_by_a_microsecond_is_caught(records):
    shift = "UPDATE audit_auditrecord SET recorded_at = recorded_at + interval '1 microsecond' WHERE id = %s"
    as_superuser_without_triggers((shift, [records[0].pk]))

    problem = verify_audit_log().problem

    assert (problem.kind, problem.record_id) == ("altered", records[0].pk)
