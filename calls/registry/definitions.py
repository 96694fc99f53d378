"""Every agent tool, declared once. Adding a tool is one ToolDefinition here plus the service it runs.

From each definition come its REST endpoint (calls/edges/views.py, calls/urls.py), its OpenAPI
description (calls/edges/schema.py), every manifest format (calls/edges/manifests/), MCP and the
webhook adapters (calls/registry/run.py). PHI read tools take what they fetch, store and say from
calls/tools/tool_specs.py.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Literal

from rest_framework import serializers

from calls.models import CallSession
from calls.outcomes import Ended, Result
from calls.registry import shapes
from calls.registry.inputs import Input, Value, object_schema, serializer_for
from calls.session import call_sessions, transfers
from calls.session.access_log import AuditContext
from calls.session.stored_answers import MEDICATION_STATUSES, RANGES
from calls.tools import (
    answers,
    appointment_booking,
    appointment_cancellation,
    appointment_reschedule,
    care_messages,
    refills,
    slot_offers,
)
from calls.tools.tool_specs import TOOLS as READS
from calls.tools.tool_specs import ToolSpec
from calls.verification import turns
from ehr_integrations.auth.scopes import TOOL_NEEDS
from ehr_integrations.models import Purpose

SAY_CONVENTION = (
    " Answers are JSON with a `status`. `ok`: speak `say` as is (one short sentence, dates and times"
    " already in the caller's time zone) and use `data` only to answer follow-up questions."
    " `pending`: speak `filler`, then call again after `retry_after_ms`."
    " `needs_more`: speak `say`, which asks for one detail (`ask`); `missing` lists all still needed."
    " `not_verified`: verify the caller first with verify_caller."
    " `unavailable` or `escalate`: speak `say` and offer to transfer the caller to `transfer`."
    " Never guess or fill in anything the answer does not contain."
)
# `?wait=0` asks a read tool, or verify, for the pending/filler mode (REST only: an LLM function call waits).
WAIT = Input(
    "wait",
    "choice",
    "0: answer at once with a filler while the fetch runs; 1 (default): wait for the data",
    default="1",
    choices=("0", "1"),
    invalid="must be 0 (answer at once) or 1 (wait for the data)",
)
WAIT_QUERY = serializer_for("WaitQuery", (WAIT,), strict=False)  # a POST's query string
Service = Callable[[CallSession, Mapping[str, Value], AuditContext], Result]
Answers = Literal["read", "verify", "transfer", "end", "write", "offers", "booking"]


@dataclass(frozen=True)
class ToolDefinition:
    name: str  # the REST path segment under /api/v1/calls/{call_id}/ and the audit's tool name
    function: str  # the function name an LLM calls
    summary: str  # one line for the OpenAPI description
    description: str  # for the LLM: what the tool does and when to call it
    inputs: tuple[Input, ...]
    method: Literal["GET", "POST"]  # GET reads its inputs from the query string, POST from the body
    answers: Answers  # the envelopes it answers with (calls/edges/schema.py documents each kind)
    service: Service
    phi: bool = False  # answers carry PHI: gated by verification and audited
    write: bool = False
    read: ToolSpec | None = None  # a PHI read: what it fetches, stores and says
    idempotent: bool = False  # POST honours Idempotency-Key
    purpose: str = Purpose.GENERAL  # who takes over when it cannot answer
    keeps_alive: bool = True  # a call to it counts as the call's activity (ending a call does not)
    renews_itself: bool = False  # keeps alive in its service's first store read, not in one of its own (verify)
    output: type[serializers.Serializer] | None = None  # the shape of `data` in its `ok` answer
    output_many: bool = False  # `data` is a list of that shape
    pending: bool = False  # a POST that takes `?wait=0` (reads always do)
    path: str = ""  # its REST path under the call when not its name ("appointments/<str:appointment_id>/cancel")
    destructive: bool = False  # a write that undoes something (MCP destructiveHint)

    @property
    def rest_path(self) -> str:
        return self.path or self.name

    @property
    def rest_inputs(self) -> tuple[Input, ...]:
        """The inputs of its REST endpoint: a read, or a POST with a pending mode, also takes `wait`."""
        return self.inputs + ((WAIT,) if self.read or self.pending else ())

    @property
    def scopes(self) -> Mapping[str, str]:
        """The SMART permissions (resource type -> v2 letters) its EHR work needs."""
        return TOOL_NEEDS.get(self.name, {})

    @property
    def parameters(self) -> dict:
        """The JSON Schema of its arguments, for function calling."""
        return object_schema(self.inputs)

    def validator(self, *, strict: bool) -> type[serializers.Serializer]:
        """Its one serializer: strict for bodies and function arguments, lenient for a query string."""
        return self._strict if strict else self._lenient

    @cached_property
    def _strict(self) -> type[serializers.Serializer]:
        return serializer_for(f"{_camel(self.name)}Arguments", self.inputs)

    @cached_property
    def _lenient(self) -> type[serializers.Serializer]:
        return serializer_for(f"{_camel(self.name)}Query", self.rest_inputs, strict=False)

    @cached_property
    def in_path(self) -> tuple[str, ...]:
        """The inputs its REST path carries (`<str:appointment_id>`), not its body."""
        return tuple(re.findall(r"<[a-z]+:([a-z_]+)>", self.path))

    @cached_property
    def body(self) -> type[serializers.Serializer]:
        """The serializer of its REST body, for OpenAPI: its inputs less those in the path."""
        if not self.in_path:
            return self._strict
        return serializer_for(f"{_camel(self.name)}Body", tuple(i for i in self.inputs if i.name not in self.in_path))


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.replace("-", "_").split("_"))


def _read(spec: ToolSpec, output: type[serializers.Serializer], *inputs: Input, many: bool = True) -> ToolDefinition:
    def service(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
        return answers.answer(call=call, tool=spec.name, values=values, context=context)

    return ToolDefinition(
        name=spec.name,
        function=f"get_{spec.name}",
        summary=spec.description,
        description=spec.description + SAY_CONVENTION,
        inputs=inputs,
        method="GET",
        answers="read",
        service=service,
        phi=True,
        read=spec,
        purpose=spec.purpose,
        output=output,
        output_many=many,
    )


def _verify(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    identifiers = {name: value for name, value in values.items() if name != WAIT.name}
    return turns.submit(call=call, identifiers=identifiers, context=context, may_pend=values.get(WAIT.name) == "0")


def _transfer(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return transfers.routed(health_system=call.health_system, purpose=str(values["purpose"]))


def _refill(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return refills.submit(call=call, values=values, context=context)


def _message(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return care_messages.submit(call=call, values=values, context=context)


def _end(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    call_sessions.end_call(call=call, reason=str(values["reason"]))
    return Ended()


def _slots(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return slot_offers.answer(call=call, values=values, context=context)


def _book(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return appointment_booking.submit(call=call, values=values, context=context)


def _cancel(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return appointment_cancellation.submit(call=call, values=values, context=context)


def _reschedule(call: CallSession, values: Mapping[str, Value], context: AuditContext) -> Result:
    return appointment_reschedule.submit(call=call, values=values, context=context)


# Scheduling by voice (issue 22): offers, bookings and appointments are named by call-scoped handles.
OFFER_ID = Input(
    "offer_id",
    "string",
    "the `id` of an offer from find_appointment_times",
    required=True,
    max_length=24,
    pattern=r"^of-[0-9a-f]{16}$",
    invalid="must be an offer id from find_appointment_times",
)
APPOINTMENT_ID = Input(
    "appointment_id",
    "string",
    "the `id` the gateway gave for the appointment",
    required=True,
    max_length=24,
    pattern=r"^ap-[0-9a-f]{16}$",
    invalid="must be an appointment id from this call",
)
SCHEDULING_CONFIRM = (
    Input("confirm", "boolean", "false: read back; true: do it", required=True),
    Input("confirmation_id", "string", "from the `confirm` answer; required with confirm true", max_length=64,
          pattern="^[0-9a-f]{32}$", invalid="must be the confirmation_id of a `confirm` answer"),
)  # fmt: skip
SCHEDULING: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="slots",
        function="find_appointment_times",
        summary="Up to three open times to offer the caller",
        description=(
            "Find open appointment times for the verified caller: at most three offers, already spoken in"
            " `say`. Pass the caller's visit type; `provider` only as a provider_id from an earlier answer, and"
            " `after` / `before` as dates the caller named. `escalate`: this visit cannot be booked by phone;"
            " offer the transfer. Book an offer with book_appointment." + SAY_CONVENTION
        ),
        inputs=(
            Input(
                "visit_type",
                "string",
                "the kind of visit, e.g. follow-up",
                required=True,
                max_length=40,
                pattern=r"^[a-z0-9\-]{1,40}$",
                invalid="must be a visit type such as follow-up",
            ),
            Input(
                "provider",
                "string",
                "a provider_id from an earlier answer",
                max_length=24,
                pattern=r"^pv-[0-9a-f]{16}$",
                invalid="must be a provider_id from an earlier answer",
            ),
            Input("after", "date", "YYYY-MM-DD: the first day the caller can come", earliest=date(2000, 1, 1)),
            Input("before", "date", "YYYY-MM-DD: the last day the caller can come", earliest=date(2000, 1, 1)),
        ),  # fmt: skip
        method="GET",
        answers="offers",
        service=_slots,
        phi=True,
        purpose=Purpose.SCHEDULING,
        output=shapes.SlotOfferShape,
        output_many=True,
    ),
    ToolDefinition(
        name="book-appointment",
        path="appointments",
        function="book_appointment",
        summary="Book an offered time (two steps: confirm, then book)",
        description=(
            "Book one of the times find_appointment_times offered. First call it with confirm false: speak"
            " `say` (the read-back) and wait for the caller's yes; then call it again with confirm true, the"
            " same offer_id and the `confirmation_id`. `conflict`: the time was just taken; speak `say`, which"
            " offers the new times in `data`. Never tell the caller it is booked unless the answer is `ok`."
            + SAY_CONVENTION
        ),
        inputs=(OFFER_ID, *SCHEDULING_CONFIRM),
        method="POST",
        answers="booking",
        service=_book,
        phi=True,
        write=True,
        idempotent=True,
        purpose=Purpose.SCHEDULING,
        output=shapes.BookedShape,
    ),
    ToolDefinition(
        name="cancel-appointment",
        path="appointments/<str:appointment_id>/cancel",
        function="cancel_appointment",
        summary="Cancel one of the caller's appointments (two steps)",
        description=(
            "Cancel an appointment of the verified caller (appointment_id: an `id` the gateway gave for it)."
            " Call with confirm false, speak `say` and wait for the caller's yes; then confirm true with the"
            " `confirmation_id`." + SAY_CONVENTION
        ),
        inputs=(APPOINTMENT_ID, *SCHEDULING_CONFIRM),
        method="POST",
        answers="write",
        service=_cancel,
        phi=True,
        write=True,
        idempotent=True,
        destructive=True,
        purpose=Purpose.SCHEDULING,
        output=shapes.CancelledShape,
    ),
    ToolDefinition(
        name="reschedule-appointment",
        path="appointments/<str:appointment_id>/reschedule",
        function="reschedule_appointment",
        summary="Move one of the caller's appointments to an offered time (two steps)",
        description=(
            "Move an appointment to a time find_appointment_times offered: the new time is booked first, then"
            " the old one cancelled. Call with confirm false, speak `say`, wait for the yes, then confirm true"
            " with the `confirmation_id`. `conflict`: the new time was just taken; the old appointment stands."
            + SAY_CONVENTION
        ),
        inputs=(APPOINTMENT_ID, OFFER_ID, *SCHEDULING_CONFIRM),
        method="POST",
        answers="booking",
        service=_reschedule,
        phi=True,
        write=True,
        idempotent=True,
        destructive=True,
        purpose=Purpose.SCHEDULING,
        output=shapes.BookedShape,
    ),
)


# Strict, so that what reaches the EHR search is only what a caller could really say (issue 18); the
# site's own checks (a birth date in the past there, its MRN pattern) are in calls/verification/site_inputs.py.
VERIFY_INPUTS = (
    Input("date_of_birth", "date", "YYYY-MM-DD, as the caller said it", earliest=date(1900, 1, 1)),
    Input("ssn_last4", "string", "last four digits of the SSN", pattern="^[0-9]{4}$", invalid="must be 4 digits (0-9)"),
    Input("mrn", "string", "medical record number", max_length=64),
    Input("phone", "phone", "the caller's phone number on file", max_length=32),
    Input("family_name", "name", "last name", max_length=100),
    Input("given_name", "name", "first name", max_length=100),
)

CONFIRMATION_ID = Input(
    "confirmation_id",
    "string",
    "from the `confirm` answer; required with confirm true",
    max_length=64,
    pattern="^[0-9a-f]{32}$",
    invalid="must be the confirmation_id of a `confirm` answer",
)

TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        name="verify",
        function="verify_caller",
        summary="Verify the caller (one turn)",
        description=(
            "Confirm who the caller is before anything about their health can be shared. Call it on each"
            " turn with whichever details the caller has just given; details add up across turns. Never"
            " tell the caller which detail was wrong." + SAY_CONVENTION
        ),
        inputs=VERIFY_INPUTS,
        method="POST",
        answers="verify",
        service=_verify,
        idempotent=True,
        purpose=Purpose.VERIFICATION,
        pending=True,
        renews_itself=True,  # turns.submit: session_store.read_ahead
    ),
    _read(
        READS["appointments"],
        shapes.AppointmentShape,
        Input(
            "range",
            "choice",
            "upcoming (default): visits the caller is expected at; past; cancelled: cancelled or missed, from"
            " the last 30 days on",
            default="upcoming",
            choices=RANGES,
        ),
    ),
    _read(
        READS["medications"],
        shapes.MedicationShape,
        Input(
            "status",
            "choice",
            "default active",
            default="active",
            choices=MEDICATION_STATUSES,
            invalid="must be a FHIR MedicationRequest status, e.g. active",
        ),
    ),
    _read(
        READS["messages"],
        shapes.MessageShape,
        Input("limit", "integer", "default 5", default=5, minimum=1, maximum=50),
    ),
    _read(READS["patient"], shapes.PatientShape, many=False),
    ToolDefinition(
        name="transfer",
        function="transfer",
        summary="Who to hand the caller to",
        description=(
            "Find the person to hand the caller to: scheduling, pharmacy, clinical (any medical question:"
            " never answer those yourself), verification or general. Needs no verification." + SAY_CONVENTION
        ),
        # An LLM is asked to name the purpose (its schema requires it); left out, it is general.
        inputs=(Input("purpose", "choice", default=Purpose.GENERAL, choices=tuple(Purpose.values), ask=True),),
        method="GET",
        answers="transfer",
        service=_transfer,
        output=shapes.RoutedShape,
    ),
    ToolDefinition(
        name="refill-requests",
        function="request_refill",
        summary="Ask the prescriber's office for a refill (two steps: confirm, then send)",
        description=(
            "Ask for a prescription refill for the verified caller. First call it with confirm false: speak"
            " `say` (the read-back) and wait for the caller's yes. Only then call it again with confirm true,"
            " the same medication_id and note, and the `confirmation_id` from the first answer (valid 5"
            " minutes). `refused`: speak `say`; the medication cannot be refilled this way. A medication with"
            " no refills left becomes a renewal request. Never tell the caller it was sent unless the answer"
            " is `ok` and `say` says so." + SAY_CONVENTION
        ),
        inputs=(
            Input(
                "medication_id",
                "string",
                "the `id` of the medication from get_medications",
                required=True,
                max_length=64,
                pattern=r"^[A-Za-z0-9\-.]{1,64}$",
                invalid="must be a medication id from get_medications",
            ),
            Input("confirm", "boolean", "false: validate and read back; true: send", required=True),
            CONFIRMATION_ID,
            Input("note", "string", "a short note for the office, in the caller's words", max_length=200),
        ),
        method="POST",
        answers="write",
        service=_refill,
        phi=True,
        write=True,
        idempotent=True,
        purpose=Purpose.PHARMACY,
        output=shapes.RefillRequestShape,
    ),
    ToolDefinition(
        name="care-team-messages",
        function="message_care_team",
        summary="Leave a message for the caller's care team (two steps: confirm, then send)",
        description=(
            "Leave a message for the verified caller's care team: a question for the clinic, billing, records"
            " (the topics this health system takes; another topic answers 400 listing them). First call it"
            " with confirm false: speak `say` (a short read-back) and wait for the caller's yes. Only then call"
            " it again with confirm true, the same topic and text, and the `confirmation_id` (valid 5"
            " minutes). Never for anything urgent: a message that sounds urgent is not sent, the answer is"
            " `escalate` to the clinical line, and `say` urges the caller to get help now. Never tell the"
            " caller it was sent unless the answer is `ok` and `say` says so." + SAY_CONVENTION
        ),
        inputs=(
            Input(
                "topic",
                "string",
                "the topic code, e.g. clinic, prescription, billing, records",
                required=True,
                max_length=32,
                pattern="^[a-z][a-z0-9_]{0,31}$",
                invalid="must be a topic code such as clinic or billing",
            ),
            Input(
                "text",
                "string",
                f"the message, in the caller's words (at most {care_messages.MAX_TEXT} characters)",
                required=True,
                max_length=care_messages.MAX_TEXT,
            ),
            Input("confirm", "boolean", "false: validate and read back; true: send", required=True),
            CONFIRMATION_ID,
        ),
        method="POST",
        answers="write",
        service=_message,
        phi=True,
        write=True,
        idempotent=True,
        purpose=Purpose.CLINICAL,
        output=shapes.CareTeamMessageShape,
    ),
    ToolDefinition(
        name="end",
        function="end_call",
        summary="End the call and purge its PHI",
        description="End the call when the caller is done; everything the call held is erased." + SAY_CONVENTION,
        inputs=(Input("reason", "string", max_length=64, default="agent_ended"),),
        method="POST",
        answers="end",
        service=_end,
        idempotent=True,
        keeps_alive=False,
    ),
    *SCHEDULING,
)
BY_NAME = {tool.name: tool for tool in TOOLS}
BY_FUNCTION = {tool.function: tool for tool in TOOLS}

# Opening a call is not a tool on a call (there is none yet): POST /api/v1/calls, and MCP's open_call.
E164 = r"^\+[1-9][0-9]{6,14}$"
OPEN_CALL_FUNCTION = "open_call"
OPEN_CALL_DESCRIPTION = (
    "Open a call at the start of the conversation, before any other tool; pass the `call_id` it"
    " returns to every other tool. Then verify the caller with verify_caller."
)
OPEN_CALL_INPUTS = (
    Input(
        "health_system",
        "string",
        "the health system's slug",
        required=True,
        max_length=50,
        pattern=r"^[-a-zA-Z0-9_]+$",
        invalid="must be a slug (letters, digits, hyphens, underscores)",
    ),
    Input("caller_phone", "string", "E.164 caller ID", pattern=E164, invalid="must be E.164"),
    Input("external_id", "string", "the voice platform's call id", max_length=200, default=""),
)
OPEN_CALL_VALIDATOR = serializer_for("OpenCallArguments", OPEN_CALL_INPUTS)
