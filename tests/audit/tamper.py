"""Tampering as a superuser: the append-only triggers switched off around raw SQL."""

from django.db import connection


def as_superuser_without_triggers(*statements: tuple[str, list]) -> None:
    with connection.cursor() as cursor:
        for table in ("audit_auditrecord", "audit_auditseal"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        for sql, params in statements:
            cursor.execute(sql, params)
        for table in ("audit_auditrecord", "audit_auditseal"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
