"""A database superuser who bypasses the triggers and inserts, edits, deletes, swaps or re-seals rows
is caught by verification, which names the first bad record or seal."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit import chain
from audit.checkpoints import read_for_verification
from audit.digests import export_digest
from audit.models import AuditRecord, AuditSeal, SealVerdict
from audit.sealing import seal_pending
from audit.verification import verify_audit_log
from tests.audit.factories import phi_access, phi_access_written_at
from tests.audit.tamper import (
    BYPASSES,
    as_superuser_without_triggers,
    forged_insert,
    forged_seal_for,
    reseal_everything,
)

bypasses = pytest.mark.parametrize("bypass", list(BYPASSES.values()), ids=list(BYPASSES))


@pytest.fixture
def records(db):
    made = [phi_access(patient_reference=f"pat-{n}", correlation_id=f"corr-{n}") for n in range(1, 6)]
    seal_pending()  # the beat's tick: seals, then a signed checkpoint of the head
    return made


def named(problem) -> tuple:
    return problem.kind, problem.target, problem.position, problem.record_id


def test_intact_log_verifies(records):
    report = verify_audit_log()

    assert report.intact
    assert (report.checked, report.head_position) == (5, 5)


@bypasses
def test_edited_record_is_named_as_altered(records, bypass):
    bypass(("UPDATE audit_auditrecord SET outcome = 'denied' WHERE id = %s", [records[2].pk]))

    assert named(verify_audit_log().problem) == ("altered", "record", 3, records[2].pk)


@bypasses
def test_deleted_record_is_named_as_missing(records, bypass):
    bypass(("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk]))

    problem = verify_audit_log().problem

    assert named(problem) == ("missing", "record", 2, records[1].pk)
    assert problem.event_id == str(records[1].event_id)


@bypasses
def test_deleted_record_and_its_seal_leave_a_gap(records, bypass):
    bypass(
        ("DELETE FROM audit_auditseal WHERE record_id = %s", [records[1].pk]),
        ("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk]),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("missing", 2)


@bypasses
def test_forged_insert_with_a_plausible_mac_is_quarantined_by_the_sealer_and_named(records, bypass, caplog):
    bypass(forged_insert(like=records[4]))
    forged = AuditRecord.objects.get(patient_reference="pat-forged")

    with caplog.at_level(logging.ERROR, logger="audit.sealing"):
        assert seal_pending() == 1  # sealing goes on: the forgery is chained as quarantined

    assert AuditSeal.objects.get(record_id=forged.pk).verdict == SealVerdict.QUARANTINED
    assert f"record id {forged.pk}" in caplog.text and "pat-forged" not in caplog.text
    assert named(verify_audit_log().problem) == ("forged", "record", 6, forged.pk)


def test_genuine_records_after_a_quarantined_one_are_still_sealed(records):
    as_superuser_without_triggers(forged_insert(like=records[0]))
    later = phi_access(correlation_id="after-the-forgery")

    assert seal_pending() == 2

    assert AuditSeal.objects.get(record_id=later.pk).verdict == SealVerdict.GENUINE


@bypasses
def test_record_altered_before_the_sealer_ran_is_quarantined_and_named(db, bypass):
    written = phi_access()
    bypass(("UPDATE audit_auditrecord SET patient_reference = 'pat-other' WHERE id = %s", [written.pk]))

    seal_pending()

    assert named(verify_audit_log().problem) == ("forged", "record", 1, written.pk)


def test_forged_insert_not_yet_sealed_is_named_by_verification(records):
    as_superuser_without_triggers(forged_insert(like=records[1]))
    forged = AuditRecord.objects.get(patient_reference="pat-forged")

    problem = verify_audit_log().problem  # no seal in between

    assert (problem.kind, problem.record_id) == ("forged", forged.pk)


def test_forged_insert_with_a_forged_seal_of_plausible_hash_is_named(records):
    as_superuser_without_triggers(forged_insert(like=records[4]))
    forged = AuditRecord.objects.get(patient_reference="pat-forged")
    as_superuser_without_triggers(forged_seal_for(forged, after=AuditSeal.objects.get(position=5)))

    assert named(verify_audit_log().problem) == ("forged", "seal", 6, forged.pk)


def test_forged_record_back_dated_beyond_the_sealers_look_back_is_named(records):
    as_superuser_without_triggers(forged_insert(like=records[0], recorded_at="now() - interval '3 days'"))
    seal_pending()  # the look-back does not reach it

    assert verify_audit_log().problem.kind == "forged"


def test_genuine_record_the_sealer_never_reached_is_reported_as_unsealed(records):
    stray = phi_access_written_at(timezone.now() - timedelta(days=3), correlation_id="stray")
    seal_pending()  # the look-back does not reach it

    assert (verify_audit_log().problem.kind, verify_audit_log().problem.record_id) == ("unsealed", stray.pk)


@bypasses
def test_altered_sealed_at_is_named_as_an_altered_seal(records, bypass):
    bypass(("UPDATE audit_auditseal SET sealed_at = sealed_at - interval '1 day' WHERE position = 3", []))

    assert named(verify_audit_log().problem) == ("altered", "seal", 3, records[2].pk)


def test_a_quarantine_cleared_by_hand_is_named(records):
    as_superuser_without_triggers(forged_insert(like=records[4]))
    seal_pending()
    as_superuser_without_triggers(("UPDATE audit_auditseal SET verdict = 'genuine' WHERE position = 6", []))

    assert named(verify_audit_log().problem)[:3] == ("altered", "seal", 6)


def test_a_swapped_record_key_id_or_emptied_mac_is_named(records):
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET mac_key = 'other' WHERE id = %s", [records[1].pk]),
        ("UPDATE audit_auditrecord SET mac = '' WHERE id = %s", [records[3].pk]),
    )

    assert named(verify_audit_log().problem) == ("altered", "record", 2, records[1].pk)


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


@bypasses
def test_swapped_seals_are_named_as_reordered(records, bypass):
    bypass(
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
    seal = AuditSeal.objects.get(position=4)
    seal.record_digest = chain.record_digest(AuditRecord.objects.get(pk=target.pk))
    settings.AUDIT_HMAC_KEY = "attacker-guess"
    forged = chain.seal_hash(seal)
    settings.AUDIT_HMAC_KEY = "embedded-development-only-audit-hmac-key"
    as_superuser_without_triggers(
        ("UPDATE audit_auditseal SET hash = %s, record_digest = %s WHERE position = 4", [forged, seal.record_digest])
    )

    assert named(verify_audit_log().problem) == ("altered", "seal", 4, target.pk)


@bypasses
def test_tail_truncation_after_the_last_checkpoint_is_named(records, bypass):
    bypass(
        ("DELETE FROM audit_auditseal WHERE position >= 4", []),
        ("DELETE FROM audit_auditrecord WHERE id >= %s", [records[3].pk]),
    )

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("truncated", 4)
    assert f"record id {records[4].pk}" in problem.detail


def test_truncating_both_tables_is_named(records):
    with pytest.raises(CommandError, match="truncated: position 1"):
        as_superuser_without_triggers(("TRUNCATE audit_auditseal, audit_auditrecord", []))
        call_command("verify_audit_log")


def test_the_sealer_refuses_to_seal_over_a_truncated_chain(records, caplog):
    as_superuser_without_triggers(("DELETE FROM audit_auditseal WHERE position = 5", []))

    with caplog.at_level(logging.ERROR, logger="audit.sealing"):
        assert seal_pending() == 0

    assert "behind" in caplog.text
    assert (verify_audit_log().problem.kind, AuditSeal.objects.count()) == ("truncated", 4)


def test_a_deletion_is_caught_once_the_record_is_one_seal_interval_old(db):
    phi_access(correlation_id="a")
    newest = phi_access(correlation_id="b")
    seal_pending()  # beat seals every AUDIT_SEAL_EVERY_S: the records are now anchored outside the database
    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal WHERE record_id = %s", [newest.pk]),
        ("DELETE FROM audit_auditrecord WHERE id = %s", [newest.pk]),
    )

    assert (verify_audit_log().problem.kind, verify_audit_log().problem.position) == ("truncated", 2)


def test_a_sealer_that_stopped_is_reported_as_stale(records, settings):
    settings.AUDIT_CHECKPOINT_EVERY_S = 0.05
    time.sleep(0.15)
    phi_access(correlation_id="written-while-beat-is-down")

    assert verify_audit_log().problem.kind == "stale"
    seal_pending()
    assert verify_audit_log().intact


def test_whole_chain_resealed_with_the_chain_key_is_caught_by_the_record_macs(records):
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET patient_reference = 'pat-x' WHERE id = %s", [records[0].pk])
    )
    reseal_everything()

    assert named(verify_audit_log().problem) == ("altered", "record", 1, records[0].pk)


def test_whole_chain_rewritten_with_both_keys_is_caught_by_the_checkpoint(records):
    # The attacker replaces the newest record by one of its own, MAC and all, and re-seals.
    as_superuser_without_triggers(("DELETE FROM audit_auditrecord WHERE id = %s", [records[4].pk]))
    phi_access(patient_reference="pat-5", correlation_id="corr-5")
    reseal_everything()

    problem = verify_audit_log().problem

    assert (problem.kind, problem.position) == ("altered", 5)
    assert "checkpoint" in problem.detail


def test_whole_table_rewritten_and_resealed_is_also_caught_by_the_hourly_digest(records):
    export_digest()
    as_superuser_without_triggers(("DELETE FROM audit_auditrecord WHERE id = %s", [records[4].pk]))
    phi_access(patient_reference="pat-5", correlation_id="corr-5")
    reseal_everything()

    assert verify_audit_log().problem.kind == "altered"


def test_an_edited_checkpoint_line_is_reported(records, settings):
    path = next(settings.AUDIT_DIGEST_DIR.glob("audit-checkpoints-*.jsonl"))
    body = json.loads(path.read_text().splitlines()[-1])
    body["head_position"] = 2
    path.write_text(path.read_text() + json.dumps(body) + "\n")

    problem = verify_audit_log().problem

    assert problem.kind == "checkpoint" and path.name in problem.detail


def test_a_checkpoint_signed_with_another_key_is_not_trusted(records, settings):
    path = next(settings.AUDIT_DIGEST_DIR.glob("audit-checkpoints-*.jsonl"))
    settings.AUDIT_CHECKPOINT_KEY = "YXR0YWNrZXItb3duLWtleS1vZi0zMi1ieXRlcy0wMDA="
    seal_pending()  # an attacker's sealer signs with its own key: its line names its own public key
    settings.AUDIT_CHECKPOINT_KEY = "ZW1iZWRkZWQtZGV2LW9ubHktY2hlY2twb2ludC1rZXk="

    assert verify_audit_log().problem.kind == "checkpoint"
    assert len(read_for_verification().not_genuine) == 1 and path.exists()


def test_a_witness_directory_keeps_the_checkpoints_an_attacker_removed(db, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_WITNESS_DIR = str(tmp_path / "witness")
    made = [phi_access(correlation_id=f"c{n}") for n in range(3)]
    seal_pending()
    for path in settings.AUDIT_DIGEST_DIR.glob("audit-checkpoints-*.jsonl"):
        path.unlink()
    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal WHERE position = 3", []),
        ("DELETE FROM audit_auditrecord WHERE id = %s", [made[2].pk]),
    )

    assert verify_audit_log().problem.kind == "truncated"


def test_verify_command_names_the_first_bad_record(records):
    as_superuser_without_triggers(
        ("UPDATE audit_auditrecord SET action = 'search' WHERE id IN (%s, %s)", [records[1].pk, records[3].pk])
    )

    with pytest.raises(
        CommandError, match=f"altered: record at position 2, record id {records[1].pk}, event {records[1].event_id}"
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
