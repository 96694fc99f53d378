"""Staff follow-ups for lookups that failed during a call, retried once the EHR answers again."""

from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import CallSession, FollowUp, FollowUpStatus
from calls.tools.tool_specs import FetchArgs, fetch
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import io_loop


def open_followup(*, call: CallSession, tool: str, patient_reference: str, reason: str) -> FollowUp:
    followup, _ = FollowUp.objects.get_or_create(
        health_system=call.health_system,
        call=call,
        tool=tool,
        status=FollowUpStatus.OPEN,
        defaults={"patient_reference": patient_reference, "reason": reason[:64]},
    )
    return followup


def retry(followup_id: int) -> str:
    """Try the failed lookup again; mark the follow-up ready when the EHR answers. Safe to run twice."""
    claimed = FollowUp.objects.filter(pk=followup_id, status=FollowUpStatus.OPEN).update(
        status=FollowUpStatus.RETRYING, last_attempt_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    followup = FollowUp.objects.select_related("health_system").get(pk=followup_id)
    system = followup.health_system
    config = connection_config(system)
    args = FetchArgs(patient_id=followup.patient_reference, tz=ZoneInfo(system.time_zone), now=timezone.now())
    coro = fetch(followup.tool, fhir_client(config), load_mapping(system), args, deadline=deadline_in(10))
    try:
        io_loop.run(coro, timeout=11)
    except (EHRError, TimeoutError):
        FollowUp.objects.filter(pk=followup_id).update(status=FollowUpStatus.OPEN, attempts=followup.attempts + 1)
        return "still_failing"
    FollowUp.objects.filter(pk=followup_id).update(
        status=FollowUpStatus.READY, attempts=followup.attempts + 1, resolved_at=timezone.now()
    )
    return "ready"


def open_ids(limit: int = 100) -> list[int]:
    return list(FollowUp.objects.filter(status=FollowUpStatus.OPEN).values_list("pk", flat=True)[:limit])
