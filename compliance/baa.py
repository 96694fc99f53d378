"""BAA enforcement: PHI flows only to business associates with a current agreement for that health system."""

import datetime

from django.db.models import Q, QuerySet

from compliance.errors import BAANotCurrent
from compliance.models import AgreementStatus, BusinessAssociateAgreement


def current_agreements(*, on: datetime.date) -> QuerySet[BusinessAssociateAgreement]:
    """Agreements that are signed and within their dates on that day."""
    return BusinessAssociateAgreement.objects.filter(
        Q(expiry_date__isnull=True) | Q(expiry_date__gte=on),
        status=AgreementStatus.ACTIVE,
        effective_date__lte=on,
    )


def ensure_baa_coverage(*, business_associate_id: int | None, health_system_slug: str, on: datetime.date) -> None:
    """Raise BAANotCurrent unless a current BAA of that business associate covers the health system."""
    if business_associate_id is None:
        raise BAANotCurrent("agent client has no business associate")
    covered = (
        current_agreements(on=on)
        .filter(business_associate_id=business_associate_id, health_systems__slug=health_system_slug)
        .exists()
    )
    if not covered:
        raise BAANotCurrent()
