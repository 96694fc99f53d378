from django.db import models

from ehr_integrations.models.health_system import HealthSystem


class KeyStatus(models.TextChoices):
    PUBLISHED = "published", "Published, not yet signing"
    ACTIVE = "active", "Signing"
    RETIRING = "retiring", "Published, no longer signing"
    RETIRED = "retired", "Retired"


class SigningKey(models.Model):
    """A key pair the gateway signs SMART client assertions with; private half encrypted at rest."""

    health_system = models.ForeignKey(HealthSystem, on_delete=models.CASCADE, related_name="signing_keys")
    kid = models.CharField(max_length=100, unique=True)
    algorithm = models.CharField(max_length=8)
    public_jwk = models.JSONField()
    private_key_encrypted = models.TextField(editable=False)
    status = models.CharField(max_length=16, choices=KeyStatus.choices, default=KeyStatus.PUBLISHED)
    created_at = models.DateTimeField(auto_now_add=True)
    activate_after = models.DateTimeField(help_text="Signing switches to this key after this time.")
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["health_system", "-created_at"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.status})"
