"""PHI flows only to an agent client whose business associate has a current BAA for the health system."""

from django.utils import timezone

from calls.models import AgentClient
from calls.outcomes import CallRefusal
from compliance.baa import ensure_baa_coverage
from compliance.errors import BAANotCurrent
from ehr_integrations.models import HealthSystem


class NotCovered(CallRefusal):
    http = 403

    def body(self) -> dict:
        return {"errors": {"health_system": "no current business associate agreement covers this health system"}}


def ensure_covered(*, client: AgentClient, health_system: HealthSystem) -> None:
    try:
        ensure_baa_coverage(
            business_associate_id=client.business_associate_id,
            health_system_slug=health_system.slug,
            on=timezone.localdate(),
        )
    except BAANotCurrent:
        raise NotCovered() from None
