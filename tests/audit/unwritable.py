"""Make the PHI access log refuse inserts for the duration of a block (Postgres).

Tests run as a superuser, who ignores REVOKE, so the refusal is a BEFORE INSERT trigger; it is
dropped on exit (and rolled back with the test transaction anyway).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def audit_log_unwritable() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION audit_test_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit log unwritable (test)'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER audit_test_refuse_insert BEFORE INSERT ON audit_auditrecord "
            "FOR EACH ROW EXECUTE FUNCTION audit_test_refuse_insert()"
        )
    try:
        yield
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER IF EXISTS audit_test_refuse_insert ON audit_auditrecord")
                cursor.execute("DROP FUNCTION IF EXISTS audit_test_refuse_insert()")
