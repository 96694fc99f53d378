"""The PHI access log: append-only records, and the seals that chain them (HMAC-SHA256).

Both tables refuse UPDATE, DELETE and TRUNCATE at the database (see audit/append_only.py).
Records are written on the request path with one INSERT, each carrying a MAC under a key the
database never holds (audit/record_mac.py); a sealer checks the MAC and chains them in order
shortly after (audit/sealing.py), so writers never serialize on the chain head.
"""

import uuid

from django.db import models


class Outcome(models.TextChoices):
    """The audit outcome vocabulary, shared by reads, verification attempts and writes."""

    SUCCESS = "success", "Success"
    # Verification attempts (calls/verification/turns.py).
    WRONG_DETAILS = "wrong_details", "Wrong details"
    LOCKED = "locked", "Locked"
    BUDGET_SPENT = "budget_spent", "Budget spent"
    ESCALATED = "escalated", "Escalated"
    EHR_UNAVAILABLE = "ehr_unavailable", "EHR unavailable"
    NOT_PERMITTED = "not_permitted", "Not permitted"
    # Writes to the EHR: requested before the EHR call, confirmed or failed after it.
    WRITE_REQUESTED = "write_requested", "Write requested"
    WRITE_CONFIRMED = "write_confirmed", "Write confirmed"
    WRITE_FAILED = "write_failed", "Write failed"
    # Reads: refused before any EHR call, failed, or answered `unavailable`.
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"
    UNAVAILABLE = "unavailable", "Unavailable"


class AuditRecord(models.Model):
    """One PHI access (or refused/failed attempt): who, when, what and why. Never a name, birth date or SSN."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recorded_at = models.DateTimeField(db_index=True, help_text="UTC, millisecond precision.")
    health_system = models.CharField(max_length=100, help_text="Health system slug.")
    agent_client = models.CharField(max_length=200)
    call_session = models.CharField(max_length=64, null=True, blank=True)
    correlation_id = models.CharField(max_length=100)
    patient_reference = models.CharField(
        max_length=64, null=True, blank=True, db_index=True, help_text="EHR Patient resource id only."
    )
    action = models.CharField(max_length=64)
    resource_types = models.JSONField(default=list)
    resource_ids = models.JSONField(default=list)
    data_category = models.CharField(max_length=64)
    purpose = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    source_address = models.CharField(max_length=64, null=True, blank=True)
    verification_method = models.CharField(max_length=64, null=True, blank=True)
    # HMAC-SHA256 over every field above and the id (fixed before the INSERT), under AUDIT_RECORD_KEY.
    mac_key = models.CharField(max_length=16, default="", editable=False, help_text="Which record key made the MAC.")
    mac = models.CharField(max_length=64, default="", editable=False)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["health_system", "recorded_at"], name="audit_hs_time")]
        verbose_name = "PHI access record"

    def __str__(self) -> str:
        return f"{self.event_id} {self.action} {self.outcome}"


class SealVerdict(models.TextChoices):
    GENUINE = "genuine", "Genuine"
    # The record's MAC did not verify when it was sealed: forged, or altered before sealing.
    QUARANTINED = "quarantined", "Quarantined (MAC invalid)"


class AuditSeal(models.Model):
    """A link of the hash chain: HMAC(key, every field of the seal), the record's content digest included."""

    position = models.BigIntegerField(primary_key=True)
    # No database constraint: a record deleted behind the triggers' back must leave its seal behind.
    record = models.OneToOneField(AuditRecord, on_delete=models.DO_NOTHING, db_constraint=False, related_name="seal")
    # The sealed record's event id, kept apart from it: a seal pointing at another event means rows moved.
    event_id = models.UUIDField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    record_digest = models.CharField(max_length=64, default="", help_text="SHA-256 of the canonical record.")
    verdict = models.CharField(max_length=16, choices=SealVerdict.choices, default=SealVerdict.GENUINE)

    class Meta:
        ordering = ["position"]
        # The admin's incident notice counts quarantined seals on every page: a small partial index.
        indexes = [
            models.Index(fields=["verdict"], condition=models.Q(verdict="quarantined"), name="audit_seal_quarantined")
        ]

    def __str__(self) -> str:
        return f"seal {self.position}"


class PurgeOutcome(models.TextChoices):
    PURGED = "purged", "Purged"
    NOTHING = "nothing", "Nothing old enough"
    REFUSED = "refused", "Refused"


class PurgeRun(models.Model):
    """One run of the retention purge, kept (append-only) whatever it did."""

    ran_at = models.DateTimeField()
    requested_by = models.CharField(max_length=200)
    cutoff = models.DateTimeField(help_text="Records recorded before this instant were eligible.")
    outcome = models.CharField(max_length=16, choices=PurgeOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    records_purged = models.PositiveIntegerField(default=0)
    # The chain resumes after the anchor: verification starts from this position and hash.
    anchor_position = models.BigIntegerField(null=True, blank=True)
    anchor_hash = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=64, blank=True, help_text="Keyed signature over the run's facts.")

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"purge {self.ran_at:%Y-%m-%d %H:%M} {self.outcome}"
