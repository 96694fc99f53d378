"""The compliance dashboard's counts (audit/dashboard.py) and its page (config/dashboard.py)."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from audit import dashboard
from tests.audit.factories import phi_access_written_at

UTC = datetime.UTC
NOW = datetime.datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.mark.django_db
def test_accesses_per_day_are_grouped_by_outcome_and_staff_reviews_left_out():
    day = NOW - datetime.timedelta(days=1)
    phi_access_written_at(day, outcome="success")
    phi_access_written_at(day, outcome="success")
    phi_access_written_at(day, outcome="denied")
    phi_access_written_at(NOW, outcome="unavailable")
    phi_access_written_at(NOW, outcome="success", agent_client="staff:compliance")
    series = dashboard.accesses_per_day(today=NOW.date(), days=3)
    assert series.labels == ["11-29", "11-30", "12-01"]
    assert series.groups == {"Answered": [0, 2, 0], "Refused": [0, 1, 0], "Failed": [0, 0, 1]}


@pytest.mark.django_db
def test_failed_and_locked_verifications_per_day():
    phi_access_written_at(NOW, action="verify", outcome="wrong_details")
    phi_access_written_at(NOW, action="verify", outcome="wrong_details")
    phi_access_written_at(NOW, action="verify", outcome="locked")
    phi_access_written_at(NOW, action="verify", outcome="success")
    series = dashboard.verification_failures_per_day(today=NOW.date(), days=2)
    assert series.groups == {"Wrong details": [0, 2], "Locked": [0, 1]}


@pytest.mark.django_db
def test_an_agent_client_reading_more_than_the_limit_of_patients_in_an_hour_is_flagged(settings):
    settings.UNUSUAL_DISTINCT_PATIENTS_PER_HOUR = 3
    for n in range(4):
        phi_access_written_at(NOW + datetime.timedelta(minutes=n), agent_client="7", patient_reference=f"pat-{n}")
    for n in range(3):
        phi_access_written_at(NOW + datetime.timedelta(minutes=n), agent_client="8", patient_reference=f"pat-{n}")
    busy = dashboard.busy_hours(since=NOW - datetime.timedelta(days=1))
    assert [(b.agent_client, b.patients) for b in busy] == [("7", 4)]


@pytest.mark.django_db
def test_an_after_hours_spike_above_twice_the_trailing_week_is_flagged():
    zone = {"riverside": "America/New_York", "elsewhere": "America/New_York"}
    night = datetime.datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 23:00 New York, Nov 30
    for n in range(7):  # one after-hours access each night of the week before
        phi_access_written_at(night - datetime.timedelta(days=n + 1))
        phi_access_written_at(night - datetime.timedelta(days=n + 1), health_system="elsewhere")
    for _ in range(3):  # three last night: above 2 x 1
        phi_access_written_at(night)
    phi_access_written_at(night + datetime.timedelta(hours=3))  # 02:00 on Dec 1: still the night of Nov 30
    phi_access_written_at(night, health_system="elsewhere")  # one: not unusual
    phi_access_written_at(NOW)  # working hours: not counted
    spikes = dashboard.after_hours_spikes(time_zones=zone, now=NOW)
    assert [(s.health_system, s.last_night, s.trailing_average) for s in spikes] == [("riverside", 4, 1.0)]


@pytest.mark.django_db
def test_dashboard_page_shows_the_charts_data_and_coverage_gaps(client, compliance_officer, health_system):
    today = datetime.datetime.now(UTC)
    phi_access_written_at(today, outcome="success")
    client.force_login(compliance_officer)
    page = client.get(reverse("compliance_dashboard")).content.decode()
    charts = [json.loads(v.replace("&quot;", '"')) for v in re.findall(r'data-value="([^"]+)"', page)]
    assert [d["label"] for d in charts[0]["datasets"]] == ["Answered", "Refused", "Failed"]
    assert charts[0]["datasets"][0]["data"][-1] == 1
    assert "Riverside Health" in page and "no current BAA covers it" in page


@pytest.mark.django_db
def test_onboarding_engineer_cannot_open_the_dashboard(client, onboarding_engineer):
    client.force_login(onboarding_engineer)
    assert client.get(reverse("compliance_dashboard")).status_code == 403
