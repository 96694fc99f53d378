"""Running a tool for any edge: validate its inputs with its one serializer, find the call, call its service.

REST views call `answer_for_client` (a verified call's read is answered from the session store
without the database); MCP, the WebSocket and the webhook adapters call `run_function`, which
answers every refusal and bad input as the contract's envelope instead of raising.
"""

from collections.abc import Mapping

from django.http import Http404
from rest_framework import serializers

from calls import contract
from calls.contract import Envelope
from calls.models import AgentClient, CallSession
from calls.outcomes import CallRefusal, Result
from calls.registry import definitions
from calls.registry.definitions import OPEN_CALL_VALIDATOR, WAIT_QUERY, ToolDefinition
from calls.registry.inputs import parse
from calls.session import call_sessions
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client
from calls.tools import answers, pending
from calls.verification import status


def _call(definition: ToolDefinition, client: AgentClient, call_id: str) -> CallSession:
    call = call_for_client(client=client, call_id=call_id)
    _keep_alive(definition, call)
    return call


def _keep_alive(definition: ToolDefinition, call: CallSession) -> None:
    if definition.keeps_alive and not definition.renews_itself:
        call_sessions.note_activity(call)


def answer_for_client(
    definition: ToolDefinition,
    *,
    client: AgentClient,
    call_id: str,
    raw: Mapping[str, object],
    context: AuditContext,
    strict: bool,
    query: Mapping[str, object] | None = None,
) -> Result:
    """One tool call of an agent client's call; raises CallRefusal, ValidationError or Http404.

    `query`: a POST's query string, where a tool with a pending mode reads `wait` (as reads do).
    """
    values = parse(definition.validator(strict=strict), raw)
    if definition.read is None:
        if definition.pending and definition.method == "POST":
            values |= parse(WAIT_QUERY, query or {})
        return definition.service(_call(definition, client, call_id), values, context)
    tool = definition.name
    read = answers.prepare_verified(client=client, call_id=call_id, tool=tool, values=values)
    call, prepared = read or (_call(definition, client, call_id), None)
    if values.get("wait") == "0":
        return pending.answer(call=call, tool=tool, values=values, context=context, prepared=prepared)
    return answers.answer(call=call, tool=tool, values=values, context=context, prepared=prepared)


def run_function(*, function: str, call: CallSession, arguments: object, context: AuditContext) -> Envelope:
    """One function call (as an LLM names it) on a call, as (HTTP status, envelope); never raises for a refusal."""
    definition = definitions.BY_FUNCTION.get(function)
    if definition is None:
        return contract.error({"name": f"unknown tool {function[:64]!r}"})
    _keep_alive(definition, call)
    try:
        values = parse(definition.validator(strict=True), arguments if arguments is not None else {})
        return contract.envelope(definition.service(call, values, context))
    except CallRefusal as refused:
        return contract.refusal_envelope(refused)
    except serializers.ValidationError as invalid:
        return contract.validation_envelope(invalid)


def open_call(*, client: AgentClient, arguments: object) -> CallSession:
    """Open a call at one of the client's health systems; raises ValidationError, Http404 or CallRefusal."""
    values = parse(OPEN_CALL_VALIDATOR, arguments if arguments is not None else {})
    return call_sessions.open_for_client(
        client=client,
        slug=str(values["health_system"]),
        caller_phone=values.get("caller_phone"),
        external_id=str(values["external_id"]),
    )


def open_call_envelope(*, client: AgentClient, arguments: object) -> Envelope:
    """`open_call` for MCP, as (HTTP status, envelope): the statuses of POST /api/v1/calls, and a 404
    that names the health system (the REST handler names every 404 after the call)."""
    try:
        call = open_call(client=client, arguments=arguments)
    except Http404:
        return contract.not_found("health_system")
    except CallRefusal as refused:
        return contract.refusal_envelope(refused)
    except serializers.ValidationError as invalid:
        return contract.validation_envelope(invalid)
    return 201, {"status": "ok", "data": status.describe(call)}
