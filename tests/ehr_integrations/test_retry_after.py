"""Retry-After in both of its forms (RFC 9110 10.2.3)."""

import time
from email.utils import formatdate

import pytest

from ehr_integrations.transport import retry_after


def test_delay_seconds_form():
    assert retry_after.parse("2") == 2.0


def test_http_date_form_counts_from_now():
    now = time.time()
    assert retry_after.parse(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)


def test_a_date_in_the_past_means_no_wait():
    assert retry_after.parse(formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_absent_or_unreadable_values_mean_no_hint():
    assert retry_after.parse(None) is None
    assert retry_after.parse("soon") is None


def test_absurd_values_are_capped_at_an_hour():
    assert retry_after.parse("999999") == retry_after.MAX_HOLD_S
