import datetime

from django.core.exceptions import ValidationError
from django.db import models


class BusinessAssociate(models.Model):
    """A party that handles PHI for a covered entity (a voice agent vendor, a hosting provider)."""

    name = models.CharField(max_length=200, unique=True)
    services = models.CharField(max_length=300, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft (not signed)"
    ACTIVE = "active", "Active (signed)"
    TERMINATED = "terminated", "Terminated"
    SUPERSEDED = "superseded", "Superseded by a newer agreement"


ACTIVE_NEEDS_DOCUMENT = (
    "An agreement can be active only with its signed document on file: attach the signed PDF, "
    "or keep the agreement as a draft until it is signed."
)


class BusinessAssociateAgreement(models.Model):
    """A signed BAA: which health systems' PHI a business associate may handle, and for how long."""

    business_associate = models.ForeignKey(BusinessAssociate, on_delete=models.PROTECT, related_name="agreements")
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    effective_date = models.DateField()
    expiry_date = models.DateField(null=True, blank=True, help_text="Blank: no fixed end (evergreen).")
    # Lazy reference: compliance imports nothing from ehr_integrations.
    health_systems = models.ManyToManyField(
        "ehr_integrations.HealthSystem", related_name="business_associate_agreements", blank=True
    )
    services_covered = models.TextField(blank=True)
    document = models.FileField(upload_to="baa/%Y/", blank=True, help_text="The signed agreement (PDF).")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expiry_date", "business_associate__name"]
        verbose_name = "business associate agreement"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expiry_date__isnull=True) | models.Q(expiry_date__gte=models.F("effective_date")),
                name="baa_expiry_after_effective",
                violation_error_message="The expiry date must be on or after the effective date.",
            ),
            # An active agreement is the proof PHI may flow: the signed document must be on file.
            models.CheckConstraint(
                condition=~models.Q(status="active") | ~models.Q(document=""),
                name="baa_active_has_document",
                violation_error_message=ACTIVE_NEEDS_DOCUMENT,
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"BAA with {self.business_associate}"

    def clean(self) -> None:
        """The two rules of the constraints, said beside their fields (admin and config as code). The missing
        document is said beside the status, which every form of an agreement has (the inline on the business
        associate's page has no document field)."""
        errors = {}
        if self.effective_date and self.expiry_date and self.expiry_date < self.effective_date:
            errors["expiry_date"] = (
                f"The agreement would end on {self.expiry_date:%Y-%m-%d}, before it takes effect on "
                f"{self.effective_date:%Y-%m-%d}: the expiry date must be on or after the effective date."
            )
        if self.status == AgreementStatus.ACTIVE and not self.document:
            errors["status"] = ACTIVE_NEEDS_DOCUMENT
        if errors:
            raise ValidationError(errors)

    def is_current_on(self, day: datetime.date) -> bool:
        return (
            self.status == AgreementStatus.ACTIVE
            and self.effective_date <= day
            and (self.expiry_date is None or day <= self.expiry_date)
        )


class BAAReminder(models.Model):
    """An expiry reminder that was sent, so each threshold is sent once per expiry date."""

    agreement = models.ForeignKey(BusinessAssociateAgreement, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    expiry_date = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "days_before", "expiry_date"], name="baa_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day reminder for {self.agreement}"
