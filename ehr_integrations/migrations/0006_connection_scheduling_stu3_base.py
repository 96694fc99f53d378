from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ehr_integrations", "0005_scheduling_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="ehrconnection",
            name="scheduling_stu3_base_url",
            field=models.URLField(
                blank=True,
                help_text=(
                    "Epic: the STU3 base its scheduling operations ($find, $hold, $book) are served on, e.g. "
                    "https://fhir.example.org/api/FHIR/STU3. Blank: no STU3 scheduling."
                ),
                max_length=500,
            ),
        ),
    ]
