from django.db import models

from ehr_integrations.models.health_system import HealthSystem
from ehr_integrations.presets.scheduling_rules import validate_rules


class SchedulingRules(models.Model):
    """What callers of one health system may book by phone (ehr_integrations/presets/scheduling_rules.py)."""

    health_system = models.OneToOneField(HealthSystem, on_delete=models.CASCADE, related_name="scheduling_rules")
    rules = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_rules],
        help_text=(
            "The YAML's scheduling: section: callers_are, lead_time_hours, horizon_days, hold_minutes,"
            " visit_types, providers. Empty: nothing is booked by phone (callers go to scheduling)."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "scheduling rules"

    def __str__(self) -> str:
        return f"Scheduling rules of {self.health_system}"
