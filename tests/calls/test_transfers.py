"""Routing to a person: opening hours in the health system's zone, after-hours alternative, fallback."""

from datetime import UTC, datetime

import pytest

from calls.session.transfers import target_for
from ehr_integrations.models import TransferTarget

pytestmark = pytest.mark.django_db
# 2026-12-01 is a Tuesday; 15:00 UTC is 10:00 in New York, 02:00 UTC is Monday 21:00 there.
TUESDAY_MORNING_NY = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MONDAY_NIGHT_NY = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def scheduling(health_system):
    TransferTarget.objects.filter(health_system=health_system, purpose="scheduling").update(
        name="Scheduling desk",
        phone="+15555550100",
        hours={"mon": ["08:00", "17:00"], "tue": ["08:00", "17:00"]},
        after_hours_name="After-hours line",
        after_hours_phone="+15555550199",
    )
    return health_system


def test_open_hours_use_the_regular_line(scheduling):
    transfer, open_now = target_for(health_system=scheduling, purpose="scheduling", now=TUESDAY_MORNING_NY)
    assert (transfer.name, transfer.phone, open_now) == ("Scheduling desk", "+15555550100", True)


def test_after_hours_use_the_alternative_in_the_sites_time_zone(scheduling):
    transfer, open_now = target_for(health_system=scheduling, purpose="scheduling", now=MONDAY_NIGHT_NY)
    assert (transfer.name, transfer.phone, open_now) == ("After-hours line", "+15555550199", False)


def test_missing_purpose_falls_back_to_general(health_system):
    TransferTarget.objects.filter(health_system=health_system, purpose="pharmacy").delete()
    transfer, _ = target_for(health_system=health_system, purpose="pharmacy", now=TUESDAY_MORNING_NY)
    assert (transfer.name, transfer.purpose) == ("General desk", "pharmacy")
