from django.core.exceptions import ValidationError
from django.db import models

from ehr_integrations.models.health_system import HealthSystem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Purpose(models.TextChoices):
    SCHEDULING = "scheduling", "Scheduling"
    PHARMACY = "pharmacy", "Pharmacy"
    CLINICAL = "clinical", "Clinical"
    VERIFICATION = "verification", "Verification help"
    GENERAL = "general", "General"


def validate_hours(value: object) -> None:
    """Hours look like {"mon": ["08:00", "17:00"], ...}; a day left out is closed; {} is always open."""
    if not isinstance(value, dict):
        raise ValidationError("hours must be a mapping of weekday to [open, close]")
    for day, span in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"unknown weekday {day!r}; use {list(WEEKDAYS)}")
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) and len(t) == 5 for t in span)):
            raise ValidationError(f'hours for {day} must be ["HH:MM", "HH:MM"]')


class TransferTarget(models.Model):
    health_system = models.ForeignKey(HealthSystem, on_delete=models.CASCADE, related_name="transfer_targets")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32)
    hours = models.JSONField(default=dict, blank=True, validators=[validate_hours])
    after_hours_name = models.CharField(max_length=200, blank=True)
    after_hours_phone = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["health_system", "purpose"], name="one_target_per_purpose")]
        ordering = ["health_system", "purpose"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.name}"
