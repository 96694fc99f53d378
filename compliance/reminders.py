"""BAA expiry reminders at 60, 30 and 7 days (settings.BAA_REMINDER_DAYS), each sent once.

A reminder row is claimed under a unique constraint in the same transaction that sends the mail,
so two runs cannot both send it, and a failed send leaves nothing claimed for the next run to retry.
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from compliance.models import BAAReminder, BusinessAssociateAgreement
from compliance.roles import COMPLIANCE_OFFICER
from compliance.selectors import active_agreements_expiring

logger = logging.getLogger(__name__)


def due_threshold(days_left: int, thresholds: tuple[int, ...]) -> int | None:
    """The most urgent threshold reached: 45 days left -> 60, 20 -> 30, 3 -> 7."""
    reached = [t for t in thresholds if 0 <= days_left <= t]
    return min(reached) if reached else None


def send_due_reminders(*, today: datetime.date) -> list[BAAReminder]:
    """Send every reminder that is due and not yet sent; return those sent now."""
    thresholds = tuple(settings.BAA_REMINDER_DAYS)
    sent = []
    for agreement in active_agreements_expiring(today=today, within_days=max(thresholds)):
        threshold = due_threshold((agreement.expiry_date - today).days, thresholds)
        if threshold is None or _already_sent(agreement, threshold):
            continue
        reminder = _send_once(agreement, threshold, today=today)
        if reminder:
            sent.append(reminder)
    return sent


def _send_once(agreement: BusinessAssociateAgreement, threshold: int, *, today: datetime.date) -> BAAReminder | None:
    recipients = _recipients()
    try:
        with transaction.atomic():
            reminder = BAAReminder.objects.create(
                agreement=agreement,
                days_before=threshold,
                expiry_date=agreement.expiry_date,
                recipients=", ".join(recipients),
            )
            if recipients:
                send_mail(_subject(agreement, today), _body(agreement, today), None, recipients)
            else:
                logger.warning("BAA reminder %s has no recipients (set COMPLIANCE_NOTIFY_EMAILS)", reminder.pk)
    except IntegrityError:
        return None  # another run sent it
    return reminder


def _already_sent(agreement: BusinessAssociateAgreement, threshold: int) -> bool:
    # A more urgent reminder sent for this expiry date makes a less urgent one moot.
    return agreement.reminders.filter(expiry_date=agreement.expiry_date, days_before__lte=threshold).exists()


def _recipients() -> list[str]:
    officers = get_user_model().objects.filter(groups__name=COMPLIANCE_OFFICER, is_active=True).exclude(email="")
    return sorted(set(settings.COMPLIANCE_NOTIFY_EMAILS) | set(officers.values_list("email", flat=True)))


def _subject(agreement: BusinessAssociateAgreement, today: datetime.date) -> str:
    days = (agreement.expiry_date - today).days
    return f"BAA with {agreement.business_associate} expires in {days} days ({agreement.expiry_date:%Y-%m-%d})"


def _body(agreement: BusinessAssociateAgreement, today: datetime.date) -> str:
    systems = ", ".join(str(s) for s in agreement.health_systems.all()) or "none listed"
    return (
        f"The business associate agreement '{agreement}' expires on {agreement.expiry_date:%Y-%m-%d}.\n"
        f"Health systems covered: {systems}.\n"
        "Without a current agreement the gateway refuses that business associate's agent clients any PHI.\n"
        f"Contact: {agreement.contact_name or agreement.business_associate.contact_name or '-'} "
        f"{agreement.contact_email or agreement.business_associate.contact_email}\n"
    )
