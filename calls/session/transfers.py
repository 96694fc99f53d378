"""Which person to hand the caller to, for a purpose, right now (opening hours in the site's zone)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.outcomes import Routed, Transfer
from ehr_integrations.models import HealthSystem, Purpose, TransferTarget
from ehr_integrations.models.transfer import WEEKDAYS
from ehr_integrations.normalize.spoken import phone_number, with_article

FALLBACK_PURPOSE = Purpose.GENERAL
# Spoken when a caller who could not be verified is handed to a person (verification and every tool).
ESCALATE_SAY = "I'm sorry, I couldn't verify your identity. Let me connect you with someone who can help."


def _is_open(target: TransferTarget, local: datetime) -> bool:
    if not target.hours:
        return True
    span = target.hours.get(WEEKDAYS[local.weekday()])
    return bool(span) and span[0] <= local.strftime("%H:%M") < span[1]


def target_for(*, health_system: HealthSystem, purpose: str, now: datetime | None = None) -> tuple[Transfer, bool]:
    """The target to use now and whether its regular line is open; falls back to the general target."""
    targets = {t.purpose: t for t in health_system.transfer_targets.all()}
    target = targets.get(purpose) or targets.get(FALLBACK_PURPOSE)
    if target is None:
        return Transfer(name=health_system.name, phone="", purpose=purpose), False
    local = (now or timezone.now()).astimezone(ZoneInfo(health_system.time_zone))
    if _is_open(target, local):
        return Transfer(name=target.name, phone=target.phone, purpose=purpose), True
    if target.after_hours_phone:
        name = target.after_hours_name or target.name
        return Transfer(name=name, phone=target.after_hours_phone, purpose=purpose), False
    return Transfer(name=target.name, phone=target.phone, purpose=purpose), False


def transfer_for(*, health_system: HealthSystem, purpose: str) -> Transfer:
    return target_for(health_system=health_system, purpose=purpose)[0]


# Said before the transfer line, for the purposes whose reason the caller should hear.
PURPOSE_LEADS = {Purpose.CLINICAL: "That's a question for our clinical team."}


def say_transfer(transfer: Transfer, open_now: bool) -> str:
    """ "I'll connect you with the Riverside nurse line now." or, when its line is closed, where to call,
    the number in the groups people say ("five five five, zero one zero three": never a digit run)."""
    target = with_article(transfer.name)
    if open_now or not transfer.phone:
        line = f"I'll connect you with {target} now."
    else:
        line = f"You can reach {target} at {phone_number(transfer.phone)}."
    lead = PURPOSE_LEADS.get(transfer.purpose)
    return f"{lead} {line}" if lead else line


def routed(*, health_system: HealthSystem, purpose: str) -> Routed:
    """The transfer answer for a purpose: clinical questions are routed here, never answered."""
    transfer, open_now = target_for(health_system=health_system, purpose=purpose)
    return Routed(transfer=transfer, open_now=open_now, say=say_transfer(transfer, open_now))
