"""PHI flows only to an agent client whose business associate has a current BAA for the health system."""

import time

from django.utils import timezone

from calls.models import AgentClient
from calls.outcomes import CallRefusal
from compliance.baa import ensure_baa_coverage
from compliance.errors import BAANotCurrent
from ehr_integrations.models import HealthSystem


class NotCovered(CallRefusal):
    """The reason names the real cause (no business associate, no agreement, none current): it is about
    the agent client's own setup, never about a patient."""

    http = 403

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def body(self) -> dict:
        return {"errors": {"health_system": self.reason}}


# A confirmed coverage is trusted for a minute per process, so tool calls skip the query;
# a terminated BAA stops PHI within that minute. Refusals are never cached.
COVERED_FOR_S = 60.0
_covered: dict[tuple, float] = {}


def ensure_covered(*, client: AgentClient, health_system: HealthSystem) -> None:
    today = timezone.localdate()
    key = (client.business_associate_id, health_system.slug, today)
    if _covered.get(key, 0.0) > time.monotonic():
        return
    try:
        ensure_baa_coverage(business_associate_id=key[0], health_system_slug=key[1], on=today)
    except BAANotCurrent as refusal:
        _covered.pop(key, None)
        raise NotCovered(refusal.reason) from None
    _covered[key] = time.monotonic() + COVERED_FOR_S
