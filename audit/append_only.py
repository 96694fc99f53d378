"""Append-only at the database: UPDATE, DELETE and TRUNCATE on the audit tables are refused.

The one exception is the retention purge (audit/retention.py): on Postgres it sets the session
variable audit.purge and may then delete rows older than the six-year legal floor, which the
trigger itself checks, so setting the variable by hand cannot remove anything younger.
Django's test flush (TRUNCATE) is let through only in databases named test_* whose session set
audit.allow_test_flush (tests/conftest.py does).

Installed by migration 0002 and re-ensured after every migrate (idempotent), because SQLite
drops a table's triggers whenever a later migration rebuilds the table.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

# (table, timestamp column a purge may delete by; "" = never deletable)
TABLES = [("audit_auditrecord", "recorded_at"), ("audit_auditseal", "sealed_at"), ("audit_purgerun", "")]

POSTGRES_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('audit.purge', true) = 'on'
       AND (to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz < now() - interval '6 years' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'TRUNCATE'
       AND current_setting('audit.allow_test_flush', true) = 'on'
       AND current_database() LIKE 'test\_%' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END
$$;
"""


def install(connection: BaseDatabaseWrapper) -> None:
    present = set(connection.introspection.table_names())
    statements = [POSTGRES_FUNCTION] if connection.vendor == "postgresql" else []
    for table, column in TABLES:
        if table in present:
            statements += _statements(connection.vendor, table, column)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def remove(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for table, _ in TABLES:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS audit_append_only()")


def _statements(vendor: str, table: str, column: str) -> list[str]:
    if vendor == "postgresql":
        arg = f"'{column}'"
        return [
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_append_only({arg})",
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only({arg})",
        ]
    if vendor == "sqlite":
        # No TRUNCATE in SQLite (DELETE without WHERE fires the row trigger) and no session variables.
        deletable = f"WHEN OLD.{column} >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-6 years') " if column else ""
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused on {table}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {deletable}"
            f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused on {table}'); END",
        ]
    raise RuntimeError(f"no append-only triggers for database vendor {vendor!r}")
