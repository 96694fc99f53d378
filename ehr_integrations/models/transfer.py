import re

from django.core.exceptions import ValidationError
from django.db import models

from ehr_integrations.identity import normalize_phone
from ehr_integrations.models.health_system import HealthSystem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Purpose(models.TextChoices):
    SCHEDULING = "scheduling", "Scheduling"
    PHARMACY = "pharmacy", "Pharmacy"
    CLINICAL = "clinical", "Clinical"
    VERIFICATION = "verification", "Verification help"
    GENERAL = "general", "General"


HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def validate_hours(value: object) -> None:
    """Hours look like {"mon": ["08:00", "17:00"], ...}; a day left out is closed; {} is always open.
    Times are compared as text (calls/session/transfers.py), so they must be zero-padded 24-hour times,
    and a span closes after it opens (a line open past midnight is two days' spans)."""
    if not isinstance(value, dict):
        raise ValidationError("hours must be a mapping of weekday to [open, close]")
    for day, span in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"unknown weekday {day!r}; use {list(WEEKDAYS)}")
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) and HH_MM.match(t) for t in span)):
            raise ValidationError(
                f'hours for {day} must be ["HH:MM", "HH:MM"], 24-hour times such as ["08:00", "17:30"]'
            )
        if span[1] <= span[0]:
            raise ValidationError(f"hours for {day}: closing time {span[1]} must be after opening time {span[0]}")


def phone_errors(**phones: str) -> dict[str, str]:
    """Field name -> message for each non-empty phone that is not a possible number written in E.164."""
    return {
        name: f"Must be a phone number in E.164, e.g. +15555550100 (it is {phone!r})."
        for name, phone in phones.items()
        if phone and normalize_phone(phone) != phone
    }


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

    def clean(self) -> None:
        if errors := phone_errors(phone=self.phone, after_hours_phone=self.after_hours_phone):
            raise ValidationError(errors)
