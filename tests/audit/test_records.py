import pytest
from django.db import connection, transaction

from audit.errors import AuditRecordInvalid, AuditUnavailable
from audit.models import AuditRecord
from tests.audit.factories import phi_access


def test_record_phi_access_stores_every_field_with_millisecond_utc_time(db):
    record = phi_access()

    stored = AuditRecord.objects.get(pk=record.pk)
    assert stored.event_id == record.event_id
    assert stored.recorded_at.microsecond % 1000 == 0
    assert stored.recorded_at.utcoffset().total_seconds() == 0
    assert (stored.health_system, stored.agent_client, stored.correlation_id) == ("riverside", "Acme Voice", "corr-1")
    assert stored.call_session == "7d0c8a1e-3f43-4f7e-9a57-2f3b1d1f1f10"
    assert (stored.patient_reference, stored.action, stored.outcome) == ("pat-123", "read", "success")
    assert stored.resource_types == ["Appointment"]
    assert stored.resource_ids == ["appt-1", "appt-2"]
    assert (stored.data_category, stored.purpose) == ("appointments", "scheduling")
    assert (stored.source_address, stored.verification_method) == ("10.0.0.7", "dob+name")


def test_denied_verification_without_patient_is_recorded(db):
    record = phi_access(patient_reference=None, outcome="denied", resource_types=[], resource_ids=[])

    assert AuditRecord.objects.get(pk=record.pk).patient_reference is None


@pytest.mark.parametrize("outcome", ["ok", "", "SUCCESS"])
def test_unknown_outcome_is_refused(db, outcome):
    with pytest.raises(AuditRecordInvalid):
        phi_access(outcome=outcome)
    assert not AuditRecord.objects.exists()


@pytest.mark.parametrize("reference", ["Jane Doe", "1980-04-02", "123-45-6789", "x" * 65, "pat/1"])
def test_patient_reference_must_be_a_bare_ehr_id(db, reference):
    with pytest.raises(AuditRecordInvalid):
        phi_access(patient_reference=reference)


def test_invalid_record_is_also_an_audit_unavailable_so_callers_fail_closed():
    assert issubclass(AuditRecordInvalid, AuditUnavailable)


def test_unwritable_log_raises_audit_unavailable(audit_log_unwritable):
    with pytest.raises(AuditUnavailable) as raised:
        phi_access()
    assert "pat-123" not in str(raised.value)


def test_refused_write_inside_a_transaction_leaves_the_transaction_usable(audit_log_unwritable):
    with transaction.atomic():
        with pytest.raises(AuditUnavailable):
            phi_access()
        assert AuditRecord.objects.count() == 0


def test_role_without_insert_on_the_log_gets_audit_unavailable(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE audit_test_app NOLOGIN")  # rolled back with the test transaction
        cursor.execute("GRANT USAGE ON SCHEMA public TO audit_test_app")
        cursor.execute("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO audit_test_app")
        cursor.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO audit_test_app")
        cursor.execute("REVOKE INSERT ON audit_auditrecord FROM audit_test_app")
        cursor.execute("SET LOCAL ROLE audit_test_app")

    with pytest.raises(AuditUnavailable):
        phi_access()
