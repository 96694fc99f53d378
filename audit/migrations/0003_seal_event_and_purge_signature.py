import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AddField(
            model_name="auditseal",
            name="event_id",
            field=models.UUIDField(default=uuid.UUID(int=0)),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="purgerun",
            name="signature",
            field=models.CharField(blank=True, help_text="Keyed signature over the run's facts.", max_length=64),
        ),
    ]
