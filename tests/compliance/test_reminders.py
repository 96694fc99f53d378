import datetime

import pytest
from django.core import mail

from compliance.models import AgreementStatus, BAAReminder
from compliance.reminders import due_threshold, send_due_reminders
from compliance.tasks import send_baa_reminders
from tests.compliance.factories import agreement

TODAY = datetime.date(2026, 6, 1)


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def officer_with_email(compliance_officer):
    compliance_officer.email = "officer@example.org"
    compliance_officer.save()
    return compliance_officer


@pytest.mark.parametrize(
    "days_left,threshold", [(61, None), (60, 60), (45, 60), (30, 30), (8, 30), (7, 7), (0, 7), (-1, None)]
)
def test_most_urgent_threshold_reached(days_left, threshold):
    assert due_threshold(days_left, (60, 30, 7)) == threshold


def test_reminders_go_out_at_60_30_and_7_days_once_each(officer_with_email, health_system):
    baa = agreement(health_system, expiry=days(60))

    sent_per_day = {}
    for day in range(0, 61):
        sent_per_day[day] = len(send_due_reminders(today=TODAY + datetime.timedelta(days=day)))

    assert [d for d, n in sent_per_day.items() if n] == [0, 30, 53]
    assert sorted(BAAReminder.objects.filter(agreement=baa).values_list("days_before", flat=True)) == [7, 30, 60]
    assert len(mail.outbox) == 3
    assert mail.outbox[0].to == ["officer@example.org"]
    assert "expires in 60 days" in mail.outbox[0].subject


def test_agreement_found_late_gets_only_the_most_urgent_reminder(officer_with_email, health_system):
    agreement(health_system, expiry=days(5))

    send_due_reminders(today=TODAY)
    send_due_reminders(today=TODAY)

    assert list(BAAReminder.objects.values_list("days_before", flat=True)) == [7]
    assert len(mail.outbox) == 1


def test_renewed_agreement_is_reminded_again_for_its_new_expiry(officer_with_email, health_system):
    baa = agreement(health_system, expiry=days(7))
    send_due_reminders(today=TODAY)
    baa.expiry_date = days(400)
    baa.save()

    send_due_reminders(today=days(400 - 60))

    assert BAAReminder.objects.count() == 2


def test_drafts_and_terminated_agreements_are_not_reminded(officer_with_email, health_system):
    agreement(health_system, expiry=days(7), status=AgreementStatus.DRAFT)
    agreement(health_system, expiry=days(7), status=AgreementStatus.TERMINATED)

    assert send_due_reminders(today=TODAY) == []


def test_failed_mail_leaves_the_reminder_unsent_for_the_next_run(officer_with_email, health_system, settings):
    agreement(health_system, expiry=days(7))
    settings.EMAIL_BACKEND = "tests.compliance.failing_mail.FailingBackend"

    with pytest.raises(ConnectionRefusedError):
        send_due_reminders(today=TODAY)
    assert not BAAReminder.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert len(send_due_reminders(today=TODAY)) == 1


def test_beat_task_sends_what_is_due(officer_with_email, health_system):
    agreement(health_system, expiry=datetime.date.today() + datetime.timedelta(days=30))

    assert send_baa_reminders.delay().get() == 1
