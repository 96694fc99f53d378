import datetime

import pytest

from compliance.baa import ensure_baa_coverage
from compliance.errors import BAANotCurrent
from compliance.models import AgreementStatus, BusinessAssociate
from tests import builders
from tests.compliance import factories

TODAY = datetime.date(2026, 6, 1)


@pytest.fixture
def vendor(db):
    return BusinessAssociate.objects.create(name="Acme Voice Inc")


def agreement(vendor, *systems, **fields):
    return factories.agreement(*systems, vendor=vendor, **fields)


def test_active_agreement_within_dates_covers_its_health_system(vendor, health_system):
    agreement(vendor, health_system, expiry=TODAY)

    ensure_baa_coverage(business_associate_id=vendor.pk, health_system_slug="riverside", on=TODAY)


def test_agent_client_without_business_associate_is_refused(db):
    with pytest.raises(BAANotCurrent):
        ensure_baa_coverage(business_associate_id=None, health_system_slug="riverside", on=TODAY)


def test_agreement_for_another_health_system_does_not_cover(vendor, health_system):
    agreement(vendor, builders.health_system(slug="elsewhere"))

    with pytest.raises(BAANotCurrent):
        ensure_baa_coverage(business_associate_id=vendor.pk, health_system_slug="riverside", on=TODAY)


@pytest.mark.parametrize(
    "status,effective,expiry",
    [
        (AgreementStatus.ACTIVE, TODAY.replace(year=2025), TODAY - datetime.timedelta(days=1)),
        (AgreementStatus.ACTIVE, TODAY + datetime.timedelta(days=1), None),
        (AgreementStatus.DRAFT, TODAY.replace(year=2025), None),
        (AgreementStatus.TERMINATED, TODAY.replace(year=2025), None),
    ],
    ids=["expired-yesterday", "not-yet-effective", "unsigned-draft", "terminated"],
)
def test_agreement_that_is_not_current_does_not_cover(vendor, health_system, status, effective, expiry):
    agreement(vendor, health_system, status=status, effective=effective, expiry=expiry)

    with pytest.raises(BAANotCurrent):
        ensure_baa_coverage(business_associate_id=vendor.pk, health_system_slug="riverside", on=TODAY)


def test_another_vendors_agreement_does_not_cover(vendor, health_system):
    agreement(BusinessAssociate.objects.create(name="Other"), health_system)

    with pytest.raises(BAANotCurrent):
        ensure_baa_coverage(business_associate_id=vendor.pk, health_system_slug="riverside", on=TODAY)


@pytest.mark.parametrize(
    "status,effective,expiry,state",
    [
        (AgreementStatus.ACTIVE, TODAY.replace(year=2025), datetime.date(2026, 5, 31), "expired 2026-05-31"),
        (AgreementStatus.ACTIVE, datetime.date(2026, 7, 1), None, "effective from 2026-07-01"),
        (AgreementStatus.DRAFT, TODAY.replace(year=2025), None, "draft (not signed)"),
        (AgreementStatus.TERMINATED, TODAY.replace(year=2025), None, "terminated"),
    ],
    ids=["expired", "not-yet-effective", "draft", "terminated"],
)
def test_refusal_says_why_the_agreement_is_not_current(vendor, health_system, status, effective, expiry, state):
    agreement(vendor, health_system, status=status, effective=effective, expiry=expiry)

    with pytest.raises(BAANotCurrent) as refusal:
        ensure_baa_coverage(business_associate_id=vendor.pk, health_system_slug="riverside", on=TODAY)

    assert refusal.value.reason == (
        f"no current business associate agreement of Acme Voice Inc covers this health system ({state})"
    )


def test_refusal_without_business_associate_names_that_cause(db):
    with pytest.raises(BAANotCurrent, match="^this agent client has no business associate"):
        ensure_baa_coverage(business_associate_id=None, health_system_slug="riverside", on=TODAY)
