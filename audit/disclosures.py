"""Accounting of disclosures: who accessed one patient's data, when, what and why."""

from datetime import datetime

from django.db.models import QuerySet

from audit.models import AuditRecord


def patient_access_report(
    *,
    patient_reference: str,
    health_system: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditRecord]:
    """Every record naming the patient, oldest first, optionally within one health system and a time range."""
    records = AuditRecord.objects.filter(patient_reference=patient_reference)
    if health_system:
        records = records.filter(health_system=health_system)
    if since:
        records = records.filter(recorded_at__gte=since)
    if until:
        records = records.filter(recorded_at__lt=until)
    return records.order_by("recorded_at", "id")
