import django.db.models.deletion
from django.db import migrations, models

import ehr_integrations.presets.scheduling_rules


class Migration(migrations.Migration):
    dependencies = [
        ("ehr_integrations", "0004_health_system_write_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="SchedulingRules",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "rules",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text=(
                            "The YAML's scheduling: section: callers_are, lead_time_hours, horizon_days, hold_minutes,"
                            " visit_types, providers. Empty: nothing is booked by phone (callers go to scheduling)."
                        ),
                        validators=[ehr_integrations.presets.scheduling_rules.validate_rules],
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "health_system",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scheduling_rules",
                        to="ehr_integrations.healthsystem",
                    ),
                ),
            ],
            options={"verbose_name_plural": "scheduling rules"},
        ),
    ]
