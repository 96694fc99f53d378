"""BAA enforcement: PHI flows only to business associates with a current agreement for that health system."""

import datetime

from django.db.models import Q, QuerySet

from compliance.errors import BAANotCurrent
from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement

NO_ASSOCIATE = (
    "this agent client has no business associate: set one on the agent client (admin) or with "
    "create_agent_client --business-associate"
)


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
        raise BAANotCurrent(NO_ASSOCIATE)
    covered = (
        current_agreements(on=on)
        .filter(business_associate_id=business_associate_id, health_systems__slug=health_system_slug)
        .exists()
    )
    if not covered:
        raise BAANotCurrent(_why_not_covered(business_associate_id, health_system_slug, on))


def _why_not_covered(business_associate_id: int, health_system_slug: str, on: datetime.date) -> str:
    """The real cause, for the operator who set the agent client up: no agreement, or none current."""
    associate = BusinessAssociate.objects.filter(pk=business_associate_id).values_list("name", flat=True).first()
    covering = BusinessAssociateAgreement.objects.filter(
        business_associate_id=business_associate_id, health_systems__slug=health_system_slug
    )
    if not covering.exists():
        return f"no business associate agreement of {associate} covers this health system"
    states = sorted({_state(agreement, on) for agreement in covering})
    return f"no current business associate agreement of {associate} covers this health system ({', '.join(states)})"


def _state(agreement: BusinessAssociateAgreement, on: datetime.date) -> str:
    if agreement.status != AgreementStatus.ACTIVE:
        return agreement.get_status_display().lower()
    if agreement.effective_date > on:
        return f"effective from {agreement.effective_date:%Y-%m-%d}"
    return f"expired {agreement.expiry_date:%Y-%m-%d}"
