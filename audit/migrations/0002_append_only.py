"""Append-only at the database: UPDATE, DELETE and TRUNCATE on the audit tables are refused.

The one exception is the retention purge (audit/retention.py): on Postgres it sets the session
variable audit.purge and may then delete rows older than the 6-year legal floor, which the
trigger itself checks, so setting the variable by hand cannot remove anything younger.
Django's test flush (TRUNCATE) is let through only in databases named test_* whose session set
audit.allow_test_flush (tests/conftest.py does).
"""

from django.db import migrations

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


def _postgres_sql(table: str, column: str) -> list[str]:
    arg = f"'{column}'" if column else "''"
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_append_only({arg})",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only({arg})",
    ]


def _sqlite_sql(table: str, column: str) -> list[str]:
    # SQLite has no TRUNCATE (DELETE without WHERE fires the row trigger) and no session variables.
    deletable = f"WHEN OLD.{column} >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-6 years') " if column else ""
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused on {table}'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {deletable}"
        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused on {table}'); END",
    ]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [POSTGRES_FUNCTION] + [s for t, c in TABLES for s in _postgres_sql(t, c)]
    elif vendor == "sqlite":
        statements = [s for t, c in TABLES for s in _sqlite_sql(t, c)]
    else:
        raise RuntimeError(f"no append-only triggers for database vendor {vendor!r}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, _ in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
