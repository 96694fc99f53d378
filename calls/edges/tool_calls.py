"""Running an agent tool by name for a call, for callers that are not the REST views (MCP, webhooks).

The same services, gating and audit as the REST endpoints, and the same envelope: this module only
maps a tool name and its arguments onto them.
"""

from dataclasses import dataclass, field

from django.http import Http404
from rest_framework import serializers

from calls.edges.envelope import envelope, refusal_envelope, validation_envelope
from calls.edges.views import EndInput, OpenCallInput, TransferInput, VerifyInput
from calls.models import CallSession
from calls.outcomes import CallRefusal
from calls.session import call_sessions, transfers
from calls.tools import answers as tools
from calls.tools.agent_tools import BY_NAME
from calls.verification import turns as verification


@dataclass(frozen=True)
class ToolRequest:
    """What the audit record needs from a request that is not a Django request (calls/session/access_log.py)."""

    headers: dict = field(default_factory=dict)
    META: dict = field(default_factory=dict)

    @classmethod
    def of(cls, *, correlation_id: str = "", address: str | None = None) -> "ToolRequest":
        return cls(
            headers={"X-Correlation-ID": correlation_id} if correlation_id else {}, META={"REMOTE_ADDR": address}
        )


def _valid(serializer_class, arguments: dict) -> dict:
    data = serializer_class(data=arguments)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _dispatch(name: str, call: CallSession, arguments: dict, request):
    if name == "verify_caller":
        return verification.submit(call=call, identifiers=_valid(VerifyInput, arguments), request=request)
    if name == "transfer":
        purpose = _valid(TransferInput, arguments)["purpose"]
        return transfers.routed(health_system=call.health_system, purpose=purpose)
    if name == "end_call":
        call_sessions.end_call(call=call, reason=_valid(EndInput, arguments)["reason"])
        return None
    query = {key: str(value) for key, value in arguments.items()}
    return tools.answer(call=call, tool=BY_NAME[name].rest.strip("/"), query=query, request=request)


def open_call(*, client, arguments: dict) -> tuple[int, dict]:
    """Open a call (the REST API's POST /api/v1/calls) as (HTTP status, envelope)."""
    try:
        data = _valid(OpenCallInput, dict(arguments or {}))
        call = call_sessions.open_for_client(
            client=client,
            slug=data["health_system"],
            caller_phone=data.get("caller_phone"),
            external_id=data["external_id"],
        )
    except Http404:
        return 404, {"status": "error", "errors": {"health_system": "not found"}}
    except CallRefusal as refused:
        return refusal_envelope(refused)
    except serializers.ValidationError as invalid:
        return validation_envelope(invalid)
    return 201, {"status": "ok", "data": call_sessions.describe(call)}


def run(*, name: str, call: CallSession, arguments: dict, request) -> tuple[int, dict]:
    """One tool call as (HTTP status, contract envelope); never raises for a refusal or bad input."""
    if name not in BY_NAME:
        return 400, {"status": "error", "errors": {"name": f"unknown tool {name[:64]!r}"}}
    call_sessions.note_activity(call)
    try:
        result = _dispatch(name, call, dict(arguments or {}), request)
    except CallRefusal as refused:
        return refusal_envelope(refused)
    except serializers.ValidationError as invalid:
        return validation_envelope(invalid)
    return (200, {"status": "ended"}) if result is None else envelope(result)
