"""Messages to the care team (`POST /api/v1/calls/{call_id}/care-team-messages`, issue 21): two steps, spoken.

`confirm: false` checks the topic against the site's list and the words against the urgent list
(an urgent message is never sent: the caller is routed to the clinical transfer and urged to get
help now), then answers `confirm` with a short read-back and a confirmation id; `confirm: true`
with that id writes it once, as a Communication or a Task where the site's capabilities allow,
else into the gateway's staff queue. Audited as refills are (write requested, then confirmed or
failed); `say` confirms only what the EHR's answer, read back, shows.
"""

import unicodedata
from collections.abc import Mapping

from calls.models import CallSession
from calls.outcomes import Confirm, Data, Escalate, InvalidInput, Refused, Result, Unavailable
from calls.session.access_log import AuditContext
from calls.session.transfers import transfer_for
from calls.tools import confirmations, write_steps
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import connection_config, deadline_in
from ehr_integrations.fhir.message_resources import CareTeamMessage
from ehr_integrations.fhir.site import client_for
from ehr_integrations.fhir.write_resources import InvalidResource
from ehr_integrations.fhir.write_routes import STAFF_QUEUE, route_for
from ehr_integrations.fhir.writes import WriteInDoubt
from ehr_integrations.models import Purpose
from ehr_integrations.presets.write_settings import WriteSettings, mentions_urgent, settings_from
from ehr_integrations.transport import io_loop

TOOL = "care-team-messages"
MAX_TEXT = 500
READ_BACK_WORDS = 15  # longer messages are read back by their first words
URGENT_SAY = (
    "That may need care now, so I won't send a message. In an emergency, call 911. Let me connect you to our"
    " nurse line."
)
ROUTE_FAILED_SAY = "I'm not able to send messages right now. Let me connect you with someone who can help."
AUDIT = write_steps.Audited(reads=("Communication", "Task"), writes=("Communication", "Task"), category="messages")


def submit(*, call: CallSession, values: Mapping[str, object], context: AuditContext) -> Result:
    """One message turn: check and read back (confirm false), or write once (confirm true)."""
    patient_id = write_steps.verified_patient(call, context, denied=AUDIT)
    settings = settings_from(call.health_system.write_settings)
    # One form of the same words (Unicode NFC, single spaces): a re-sent message is the same message.
    text = " ".join(unicodedata.normalize("NFC", str(values["text"])).split())
    request = {"topic": str(values["topic"]), "text": text}
    if request["topic"] not in settings.topics:
        raise InvalidInput({"topic": f"must be one of this health system's topics: {', '.join(settings.topics)}"})
    if not request["text"]:
        raise InvalidInput({"text": "must say what the message is"})
    if mentions_urgent(request["text"], settings.urgent):
        AUDIT.record(call, context, patient_id, action="create", outcome="escalated")
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.CLINICAL)
        raise Escalate(transfer=transfer, say=URGENT_SAY, http=200)
    plan = write_steps.confirmed_plan(call, TOOL, request, values)
    if plan is None:
        return _confirm(call, settings, request)
    return _write(call, context, patient_id, settings, request, plan)


def _summary(text: str) -> str:
    words = text.split()
    return text if len(words) <= READ_BACK_WORDS else " ".join(words[:READ_BACK_WORDS]) + " and so on"


def _confirm(call: CallSession, settings: WriteSettings, request: dict) -> Result:
    system = call.health_system
    deadline = deadline_in(connection_config(system).request_deadline_s)
    try:
        route = io_loop.result(io_loop.spawn(route_for(client_for(system), TOOL, deadline=deadline)), deadline=deadline)
    except (EHRError, TimeoutError):  # the token (and its grant) could not be had
        transfer = transfer_for(health_system=system, purpose=Purpose.GENERAL)
        raise Unavailable(reason="ehr_unavailable", transfer=transfer, say=ROUTE_FAILED_SAY) from None
    plan = {"route": route.kind, "conditional": route.conditional}
    confirmation_id = confirmations.issue(
        call_id=str(call.id), request_hash=confirmations.fingerprint(TOOL, request), plan=plan
    )
    topic = settings.topics[request["topic"]]
    who = "our staff, who will pass it to your care team" if route.kind == STAFF_QUEUE else "your care team"
    say = f'I\'ll send {who} a message about {topic}: "{_summary(request["text"])}". Shall I send it?'
    data = {"topic": request["topic"], "route": route.kind}
    return Confirm(say=say, confirmation_id=confirmation_id, expires_in_s=confirmations.LIFETIME_S, data=data)


def _write(
    call: CallSession, context: AuditContext, patient_id: str, settings: WriteSettings, request: dict, plan: dict
) -> Result:
    fingerprint = confirmations.fingerprint(TOOL, request)
    message = CareTeamMessage(
        patient_id=patient_id,
        topic=request["topic"],
        topic_text=settings.topics[request["topic"]],
        text=request["text"],
        recipient=settings.message_recipient,
        identifier=write_steps.business_identifier(call, TOOL, fingerprint),
    )
    if not write_steps.admitted(call, TOOL, message.identifier):
        return Refused(reason="write_limit", say=write_steps.LIMIT_SAY)
    if plan["route"] == STAFF_QUEUE:
        _queue(call, message, reason="the site's EHR accepts no message write (staff queue route)")
        AUDIT.record(
            call, context, patient_id, action="create", outcome="success", ids=[f"StaffRequest/{message.identifier}"]
        )
        say = f"I've passed your message to our staff, who will get it to your care team; {settings.turnaround}."
        return Data(data=_shape(message, plan["route"], "queued", None), source="live", say=say)
    AUDIT.record(call, context, patient_id, action="create", outcome="write_requested")
    try:
        written = write_steps.create(call, message, plan["route"], conditional=plan["conditional"])
    except (WriteInDoubt, EHRError, InvalidResource, TimeoutError) as failed:
        reason = getattr(failed, "reason", type(failed).__name__)
        # The follow-up first: an in-doubt write keeps it even when the audit log then refuses the record.
        _queue(call, message, reason=f"the EHR write is not confirmed: {reason}")
        AUDIT.record(call, context, patient_id, action="create", outcome="write_failed")
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.GENERAL)
        raise Unavailable(reason="write_unconfirmed", transfer=transfer, say=write_steps.IN_DOUBT_SAY) from None
    reference = f"{written.resource_type}/{written.id}"
    write_steps.settle(message.identifier)
    AUDIT.record(call, context, patient_id, action="create", outcome="write_confirmed", ids=[reference])
    say = f"Your message was sent to your care team; {settings.turnaround}."
    shape = _shape(message, plan["route"], "sent", reference)
    return Data(data=shape, source="live", say=say, http=201 if written.created else 200)


def _queue(call: CallSession, message: CareTeamMessage, *, reason: str) -> None:
    write_steps.queue(
        call,
        identifier=message.identifier,
        patient_id=message.patient_id,
        kind="message",
        about=f"topic:{message.topic}",
        reason=reason,
        detail=message.text,
    )


def _shape(message: CareTeamMessage, route: str, state: str, reference: str | None) -> dict:
    return {"topic": message.topic, "route": route, "state": state, "reference": reference}
