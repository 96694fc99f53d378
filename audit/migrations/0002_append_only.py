"""Append-only triggers on the audit tables (see audit/append_only.py)."""

from django.db import migrations


def install(apps, schema_editor):
    from audit import append_only

    append_only.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import append_only

    append_only.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
