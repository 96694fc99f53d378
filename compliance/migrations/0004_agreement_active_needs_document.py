"""An active BAA needs its signed document; the expiry-date rule says so in plain words.

Agreements already marked active without a document become drafts (with a note) before the
constraint is added: an agreement with no signed document on file is not proof that PHI may flow.
"""

from django.db import migrations, models

NOTE = "Set to draft by migration 0004: marked active with no signed document on file."
ACTIVE_NEEDS_DOCUMENT = (
    "An agreement can be active only with its signed document on file: attach the signed PDF, "
    "or keep the agreement as a draft until it is signed."
)


def demote_active_without_document(apps, schema_editor):
    Agreement = apps.get_model("compliance", "BusinessAssociateAgreement")
    for agreement in Agreement.objects.filter(status="active", document=""):
        agreement.status = "draft"
        agreement.notes = f"{agreement.notes}\n{NOTE}".strip()
        agreement.save(update_fields=["status", "notes"])


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_agreements")]

    operations = [
        migrations.RunPython(demote_active_without_document, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="businessassociateagreement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "active"), _negated=True),
                    models.Q(("document", ""), _negated=True),
                    _connector="OR",
                ),
                name="baa_active_has_document",
                violation_error_message=ACTIVE_NEEDS_DOCUMENT,
            ),
        ),
        migrations.AlterConstraint(
            model_name="businessassociateagreement",
            name="baa_expiry_after_effective",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("expiry_date__isnull", True), ("expiry_date__gte", models.F("effective_date")), _connector="OR"
                ),
                name="baa_expiry_after_effective",
                violation_error_message="The expiry date must be on or after the effective date.",
            ),
        ),
    ]
