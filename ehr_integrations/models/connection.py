from django.core.exceptions import ValidationError
from django.db import models

from compliance import encryption
from ehr_integrations import address_policy
from ehr_integrations.models import connection_rules
from ehr_integrations.models.health_system import HealthSystem
from ehr_integrations.presets.overrides import validate_overrides


class AuthMethod(models.TextChoices):
    PRIVATE_KEY_JWT = "private_key_jwt", "Private key JWT (SMART Backend Services)"
    CLIENT_SECRET_BASIC = "client_secret_basic", "Client secret (HTTP Basic)"
    CLIENT_SECRET_POST = "client_secret_post", "Client secret (form post)"
    NONE = "none", "None (loopback sandbox only)"


class SigningAlgorithm(models.TextChoices):
    ES384 = "ES384", "ES384"
    RS384 = "RS384", "RS384"


class EHRConnection(models.Model):
    """How the gateway authenticates to and talks with one health system's EHR."""

    health_system = models.OneToOneField(HealthSystem, on_delete=models.CASCADE, related_name="connection")
    auth_method = models.CharField(max_length=32, choices=AuthMethod.choices, default=AuthMethod.PRIVATE_KEY_JWT)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    signing_algorithm = models.CharField(max_length=8, choices=SigningAlgorithm.choices, default=SigningAlgorithm.ES384)
    scopes = models.TextField(
        default="system/Patient.read system/Appointment.read system/MedicationRequest.read "
        "system/Medication.read system/MedicationDispense.read system/Communication.read "
        "system/Practitioner.read system/Location.read",
        help_text="Space-separated SMART scopes (v1 .read or v2 .rs syntax).",
    )
    token_url = models.URLField(max_length=500, blank=True, help_text="Leave blank to use the discovered one.")
    discovery = models.JSONField(default=dict, blank=True, editable=False)
    discovered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the CapabilityStatement advertised when Test connection last read it (fhir/capabilities.py).
    server_capabilities = models.JSONField(default=dict, blank=True, editable=False)
    capabilities_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    capability_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_overrides],
        help_text="What this site does differently from the vendor preset: see `capabilities:` in "
        "docs/health-system-yaml.md.",
    )
    scheduling_stu3_base_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Epic: the STU3 base its scheduling operations ($find, $hold, $book) are served on, e.g. "
        "https://fhir.example.org/api/FHIR/STU3. Blank: no STU3 scheduling.",
    )
    connect_timeout_s = models.FloatField(default=2.0)
    read_timeout_s = models.FloatField(default=5.0)
    request_deadline_s = models.FloatField(default=8.0, help_text="Budget for a whole agent request, retries included.")
    max_retries = models.PositiveSmallIntegerField(default=2)
    breaker_failure_rate = models.FloatField(
        default=0.5, help_text="Failure share in the window that opens the breaker."
    )
    breaker_min_calls = models.PositiveSmallIntegerField(default=5)
    breaker_window_s = models.PositiveIntegerField(default=30)
    breaker_open_s = models.PositiveIntegerField(default=30)
    breaker_half_open_probes = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "EHR connection"

    def __str__(self) -> str:
        return f"EHR connection of {self.health_system}"

    def clean(self) -> None:
        """At save: the EHR address policy (address_policy.py) for a configured token URL, the limits, the
        scope grammar and each authentication method's required fields (connection_rules.py)."""
        errors = address_policy.ehr_url_errors(token_url=self.token_url)
        errors |= connection_rules.limit_errors(self)
        errors |= connection_rules.scopes_error(self.scopes)
        errors |= connection_rules.auth_errors(
            auth_method=self.auth_method,
            client_id=self.client_id,
            has_secret=self.has_client_secret,
            fhir_base_url=self._fhir_base_url(),
        )
        if errors:
            raise ValidationError(errors)

    def _fhir_base_url(self) -> str:
        try:
            return self.health_system.fhir_base_url  # in the admin's add page, the unsaved health system
        except HealthSystem.DoesNotExist:
            return ""

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_encrypted = encryption.encrypt(secret) if secret else ""

    def client_secret(self) -> str:
        return encryption.decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    def scope_list(self) -> list[str]:
        return self.scopes.split()
