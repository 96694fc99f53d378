import datetime

from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement
from tests.builders import SIGNED_DOCUMENT


def agreement(
    *systems,
    vendor: BusinessAssociate | None = None,
    status: str = AgreementStatus.ACTIVE,
    effective: datetime.date = datetime.date(2025, 1, 1),
    expiry: datetime.date | None = None,
    **fields,
) -> BusinessAssociateAgreement:
    vendor = vendor or BusinessAssociate.objects.get_or_create(name="Acme Voice Inc")[0]
    if status == AgreementStatus.ACTIVE:
        fields.setdefault("document", SIGNED_DOCUMENT)
    baa = BusinessAssociateAgreement.objects.create(
        business_associate=vendor, status=status, effective_date=effective, expiry_date=expiry, **fields
    )
    baa.health_systems.add(*systems)
    return baa
