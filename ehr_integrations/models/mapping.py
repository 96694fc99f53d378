from django.db import models

from ehr_integrations.models.health_system import HealthSystem


class FlatResource(models.TextChoices):
    PATIENT = "patient", "Patient"
    APPOINTMENT = "appointment", "Appointment"
    MEDICATION = "medication", "Medication"
    MESSAGE = "message", "Message"


class MappingRule(models.Model):
    """A per-health-system FHIRPath override for one flat field (validated by the normalize layer)."""

    health_system = models.ForeignKey(HealthSystem, on_delete=models.CASCADE, related_name="mapping_rules")
    resource = models.CharField(max_length=20, choices=FlatResource.choices)
    field = models.CharField(max_length=40)
    expression = models.TextField(help_text="FHIRPath evaluated on the FHIR resource; the first value is used.")
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["health_system", "resource", "field"], name="one_rule_per_field")
        ]
        ordering = ["health_system", "resource", "field"]

    def __str__(self) -> str:
        return f"{self.resource}.{self.field}"
