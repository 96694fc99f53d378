"""Reads for the BAA dashboard and reminders."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from compliance.models import AgreementStatus, BusinessAssociateAgreement


@dataclass(frozen=True)
class ExpiryDashboard:
    expired: list[BusinessAssociateAgreement]  # still marked active, past their expiry date
    expiring: list[BusinessAssociateAgreement]  # active, expiring within the window
    drafts: list[BusinessAssociateAgreement]  # not signed yet


def active_agreements_expiring(*, today: datetime.date, within_days: int) -> QuerySet[BusinessAssociateAgreement]:
    return BusinessAssociateAgreement.objects.filter(
        status=AgreementStatus.ACTIVE,
        expiry_date__gte=today,
        expiry_date__lte=today + datetime.timedelta(days=within_days),
    ).select_related("business_associate")


def expiry_dashboard(*, today: datetime.date, within_days: int = 90) -> ExpiryDashboard:
    agreements = BusinessAssociateAgreement.objects.select_related("business_associate").prefetch_related(
        "health_systems"
    )
    return ExpiryDashboard(
        expired=list(agreements.filter(status=AgreementStatus.ACTIVE, expiry_date__lt=today)),
        expiring=list(
            agreements.filter(pk__in=active_agreements_expiring(today=today, within_days=within_days).values("pk"))
        ),
        drafts=list(agreements.filter(status=AgreementStatus.DRAFT)),
    )
