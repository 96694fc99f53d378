import uuid

from django.db import models

from compliance import encryption
from compliance.models import BusinessAssociate
from ehr_integrations.models import HealthSystem


class AgentClient(models.Model):
    """A voice agent backend allowed to open calls at a set of health systems."""

    name = models.CharField(max_length=200, unique=True)
    business_associate = models.ForeignKey(
        BusinessAssociate, null=True, blank=True, on_delete=models.PROTECT, related_name="agent_clients"
    )
    health_systems = models.ManyToManyField(HealthSystem, related_name="agent_clients", blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key: only its prefix (for lookup) and a SHA-256 hash are stored; the key is shown once."""

    agent_client = models.ForeignKey(AgentClient, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, editable=False)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.agent_client})"


class CallState(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    VERIFIED = "verified", "Verified"
    ESCALATED = "escalated", "Escalated to a person"
    ENDED = "ended", "Ended"


class CallSession(models.Model):
    """Non-PHI facts about one call; the call's PHI lives only in the encrypted session store."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent_client = models.ForeignKey(AgentClient, on_delete=models.PROTECT, related_name="calls")
    health_system = models.ForeignKey(HealthSystem, on_delete=models.PROTECT, related_name="calls")
    external_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=CallState.choices, default=CallState.UNVERIFIED)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    verification_method = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "last_activity_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open: the EHR has not answered yet"
    RETRYING = "retrying", "Retrying"
    READY = "ready", "Ready: the EHR answers again; call the patient back"
    NEEDS_STAFF = "needs_staff", "Needs staff: retries stopped (refused, or too many attempts)"
    CLOSED = "closed", "Closed by staff"


class FollowUp(models.Model):
    """A lookup that failed during a call, for staff to follow up once the EHR recovers (no PHI beyond the id)."""

    health_system = models.ForeignKey(HealthSystem, on_delete=models.PROTECT, related_name="followups")
    call = models.ForeignKey(CallSession, null=True, on_delete=models.SET_NULL, related_name="followups")
    patient_reference = models.CharField(max_length=128, help_text="EHR patient id")
    tool = models.CharField(max_length=32, help_text="what the caller asked for")
    reason = models.CharField(max_length=64, help_text="why the lookup failed")
    status = models.CharField(max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="when the next retry is due")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="when a worker took the current retry")
    last_error = models.CharField(max_length=64, blank=True, help_text="why the last retry failed")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.tool} follow-up ({self.status})"


class WebhookPlatform(models.TextChoices):
    VAPI = "vapi", "Vapi"
    RETELL = "retell", "Retell"


class WebhookSecret(models.Model):
    """The secret a voice platform signs its webhook calls with, for one agent client (encrypted at rest)."""

    agent_client = models.ForeignKey(AgentClient, on_delete=models.CASCADE, related_name="webhook_secrets")
    platform = models.CharField(max_length=16, choices=WebhookPlatform.choices)
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent_client", "platform"], name="one_secret_per_platform")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} secret of {self.agent_client}"


class StaffRequestStatus(models.TextChoices):
    OPEN = "open", "Open: staff to act on it"
    DONE = "done", "Done by staff"


class StaffRequest(models.Model):
    """A write the gateway could not (or could not be sure it did) make in the EHR: staff finish it.

    The staff-queue route of a site whose EHR accepts no write, and every write in doubt. No PHI
    beyond EHR ids and the kind of request (the medicine's name is in the EHR behind the reference),
    except a care-team message's words, which staff must read: encrypted at rest (`detail`).
    """

    health_system = models.ForeignKey(HealthSystem, on_delete=models.PROTECT, related_name="staff_requests")
    call = models.ForeignKey(CallSession, null=True, on_delete=models.SET_NULL, related_name="staff_requests")
    patient_reference = models.CharField(max_length=128, help_text="EHR patient id")
    kind = models.CharField(max_length=32, help_text="refill, renewal or message")
    about = models.CharField(max_length=160, help_text="the EHR resource it is about, e.g. MedicationRequest/123")
    business_identifier = models.CharField(max_length=80, help_text="the gateway's identifier on the EHR write")
    reason = models.CharField(max_length=160, help_text="why staff have it: the site's route, or the write's doubt")
    detail_encrypted = models.TextField(
        blank=True, editable=False, help_text="a message's words, encrypted at rest (PHI); empty for refills"
    )
    status = models.CharField(max_length=8, choices=StaffRequestStatus.choices, default=StaffRequestStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["business_identifier"], name="one_staff_request_per_identifier")]

    def __str__(self) -> str:
        return f"{self.kind} request ({self.status})"

    @property
    def detail(self) -> str:
        """The message's words, for staff (decrypted on read; never logged)."""
        return encryption.decrypt(self.detail_encrypted) if self.detail_encrypted else ""
