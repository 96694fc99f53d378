"""The OpenAPI description of the agent contract (docs/agent-api.md): envelopes, examples, auth.

Serializers here only describe responses (drf-spectacular reads them); answers are built in
calls/edges/envelope.py. Each view declares its responses with one of the `*_responses` helpers.
"""

from collections.abc import Callable

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers

from calls.registry.definitions import WAIT, ToolDefinition
from calls.registry.inputs import Input
from calls.registry.shapes import SlotOfferShape, TransferShape

TRANSFER_EXAMPLE = {"name": "Scheduling desk", "phone": "+15555550100", "purpose": "scheduling"}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "calls.edges.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; a key is printed once by `manage.py create_agent_client`.",
        }


def _status(value: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[value], help_text=f"always `{value}`")


class VerificationShape(serializers.Serializer):
    required = serializers.ListField(child=serializers.CharField())
    attempts_left = serializers.IntegerField()
    ask = serializers.CharField(allow_null=True, help_text="the identifier to ask for first")
    prompt = serializers.CharField(help_text="the opening verification question, to speak as is")


class CallShape(serializers.Serializer):
    call_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["unverified", "verified", "escalated", "ended"])
    verification = VerificationShape()
    created_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


def _ok(name: str, data: serializers.Field) -> type[serializers.Serializer]:
    fields = {
        "status": _status("ok"),
        "data": data,
        "source": serializers.ChoiceField(choices=["prefetch", "live"]),
        "say": serializers.CharField(help_text="one short sentence to speak as is"),
    }
    return type(name, (serializers.Serializer,), fields)


class OkCall(serializers.Serializer):
    status = _status("ok")
    data = CallShape()


class PendingEnvelope(serializers.Serializer):
    status = _status("pending")
    filler = serializers.CharField(help_text="speak this now; the answer follows on the socket or the next GET")
    retry_after_ms = serializers.IntegerField(help_text="expected time until the answer is ready")


class NeedsMoreEnvelope(serializers.Serializer):
    status = _status("needs_more")
    missing = serializers.ListField(child=serializers.CharField(), help_text="every identifier still needed")
    attempts_left = serializers.IntegerField()
    ask = serializers.CharField(allow_null=True, help_text="the one identifier to ask for now (the first of missing)")
    prompt = serializers.CharField(allow_null=True, help_text="the question for `ask` alone")
    say = serializers.CharField(help_text="the whole turn to speak as is: one question, for `ask`")


class VerifiedEnvelope(serializers.Serializer):
    status = _status("verified")
    say = serializers.CharField()


class NotVerifiedEnvelope(serializers.Serializer):
    status = _status("not_verified")
    say = serializers.CharField()


class EscalateEnvelope(serializers.Serializer):
    status = _status("escalate")
    transfer = TransferShape()
    say = serializers.CharField()


class UnavailableEnvelope(serializers.Serializer):
    status = _status("unavailable")
    reason = serializers.CharField()
    transfer = TransferShape(allow_null=True, help_text="null only when the gateway's own stores are down")
    say = serializers.CharField()
    retry_after_ms = serializers.IntegerField(allow_null=True)


class ConfirmEnvelope(serializers.Serializer):
    status = _status("confirm")
    confirmation_id = serializers.CharField(help_text="send it back with confirm true to write; lives 5 minutes")
    expires_in_s = serializers.IntegerField()
    data = serializers.DictField(help_text="medication_id, kind (refill or renewal), route")
    say = serializers.CharField(help_text="the read-back: speak it as is and wait for the caller's yes")


SCHEDULING_REFUSALS = ("unknown_offer", "too_soon", "unknown_appointment")


class RefusedEnvelope(serializers.Serializer):
    status = _status("refused")
    reason = serializers.ChoiceField(
        choices=["unknown_medication", "inactive_medication", *SCHEDULING_REFUSALS],
        help_text="scheduling: unknown_offer, too_soon (inside the lead time now), unknown_appointment",
    )
    say = serializers.CharField()


class ConflictEnvelope(serializers.Serializer):
    status = _status("conflict")
    reason = serializers.ChoiceField(choices=["slot_taken"])
    data = SlotOfferShape(many=True, help_text="fresh offers (at most three) to speak instead")
    say = serializers.CharField(help_text="says the time was taken and offers the new ones")


class EndedEnvelope(serializers.Serializer):
    status = _status("ended")


class ErrorEnvelope(serializers.Serializer):
    status = _status("error")
    errors = serializers.DictField(child=serializers.CharField(), help_text="field -> message")


EXAMPLES = {
    "pending": {"status": "pending", "filler": "Let me pull up your appointments.", "retry_after_ms": 1500},
    "needs_more": {
        "status": "needs_more",
        "missing": ["mrn"],
        "attempts_left": 3,
        "ask": "mrn",
        "prompt": "Could you tell me your medical record number?",
        "say": "Thank you. Could you tell me your medical record number?",
    },
    "verified": {"status": "verified", "say": "Thank you, I've confirmed your identity."},
    "not_verified": {"status": "not_verified", "say": "I need to verify your identity before I can look that up."},
    "escalate": {
        "status": "escalate",
        "transfer": TRANSFER_EXAMPLE | {"name": "Verification desk", "purpose": "verification"},
        "say": "I'm sorry, I couldn't verify your identity. Let me connect you with someone who can help.",
    },
    "unavailable": {
        "status": "unavailable",
        "reason": "ehr_unavailable",
        "transfer": TRANSFER_EXAMPLE,
        "say": "I'm not able to pull up your appointments right now. I can connect you with scheduling.",
        "retry_after_ms": 30000,
    },
    "ended": {"status": "ended"},
    "error": {"status": "error", "errors": {"date_of_birth": "Date has wrong format. Use YYYY-MM-DD."}},
    "ok": {
        "status": "ok",
        "data": [
            {
                "id": "ap-1",
                "datetime": "2026-12-03T14:30:00-05:00",
                "provider_name": "Dr. Ana Ruiz",
                "location": "Riverside Clinic",
                "status": "booked",
                "description": "Follow-up",
            }
        ],
        "source": "prefetch",
        "say": "Your next appointment is on Thursday, December 3rd at 2:30 PM with Dr. Ana Ruiz.",
    },
}


def _example(status: str, code: int) -> OpenApiExample:
    return OpenApiExample(status, value=EXAMPLES[status], response_only=True, status_codes=[str(code)])


def _one_of(name: str, *shapes: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(component_name=name, serializers=list(shapes), resource_type_field_name=None)


ERROR_401 = OpenApiResponse(ErrorEnvelope, description="missing or wrong API key")
ERROR_404 = OpenApiResponse(ErrorEnvelope, description="no such call (or not this client's)")
ERROR_400 = OpenApiResponse(ErrorEnvelope, description="the request itself is wrong", examples=[_example("error", 400)])
ENDED_410 = OpenApiResponse(EndedEnvelope, description="the call is over; its data is gone")
UNAVAILABLE_503 = OpenApiResponse(
    UnavailableEnvelope,
    description="the EHR (or the audit log) cannot answer now; hand over to `transfer`",
    examples=[_example("unavailable", 503)],
)
REFUSED_403 = OpenApiResponse(
    _one_of("Refused", NotVerifiedEnvelope, EscalateEnvelope, ErrorEnvelope),
    description="not verified, escalated to a person, or no current BAA for this health system",
    examples=[_example("not_verified", 403), _example("escalate", 403)],
)
IDEMPOTENCY_409 = OpenApiResponse(ErrorEnvelope, description="Idempotency-Key reused with a different body")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="a retried POST with the same key (per API key) gets the first answer and is not repeated",
)


def idempotent_post(request: type[serializers.Serializer], responses: dict, summary: str) -> Callable:
    """The description of a POST that honours Idempotency-Key."""
    return extend_schema(request=request, responses=responses, parameters=[IDEMPOTENCY_KEY], summary=summary)


def _read_responses(ok: type[serializers.Serializer], example: bool) -> dict:
    return {
        200: OpenApiResponse(ok, examples=[_example("ok", 200)] if example else []),
        202: OpenApiResponse(PendingEnvelope, description="`?wait=0` only", examples=[_example("pending", 202)]),
        400: ERROR_400,
        401: ERROR_401,
        403: REFUSED_403,
        404: ERROR_404,
        410: ENDED_410,
        503: UNAVAILABLE_503,
    }


VERIFY_RESPONSES = {
    200: OpenApiResponse(
        _one_of("VerifyAnswer", NeedsMoreEnvelope, VerifiedEnvelope, EscalateEnvelope),
        examples=[_example("needs_more", 200), _example("verified", 200), _example("escalate", 200)],
    ),
    202: OpenApiResponse(PendingEnvelope, description="`?wait=0` only, past the voice deadline"),
    400: ERROR_400,
    401: ERROR_401,
    403: OpenApiResponse(ErrorEnvelope, description="no current BAA for this health system"),
    404: ERROR_404,
    409: IDEMPOTENCY_409,
    410: ENDED_410,
    503: UNAVAILABLE_503,
}
OPEN_RESPONSES = {
    201: OkCall,
    400: ERROR_400,
    401: ERROR_401,
    403: OpenApiResponse(ErrorEnvelope, description="no current BAA"),
    404: ERROR_404,
    409: IDEMPOTENCY_409,
}
DETAIL_RESPONSES = {200: OkCall, 401: ERROR_401, 404: ERROR_404}
END_RESPONSES = {
    200: OpenApiResponse(EndedEnvelope, examples=[_example("ended", 200)]),
    400: ERROR_400,
    401: ERROR_401,
    404: ERROR_404,
    409: IDEMPOTENCY_409,
}


def _offer_responses(ok: type[serializers.Serializer]) -> dict:
    answers = _one_of(f"{ok.__name__}Answer", ok, EscalateEnvelope)
    return {
        200: OpenApiResponse(answers, description="offers, or escalate: not bookable by phone here"),
        400: ERROR_400,
        401: ERROR_401,
        403: REFUSED_403,
        404: ERROR_404,
        410: ENDED_410,
        503: UNAVAILABLE_503,
    }


def _write_responses(ok: type[serializers.Serializer], *, booking: bool = False) -> dict:
    shapes = (ok, ConfirmEnvelope, RefusedEnvelope, EscalateEnvelope, *((ConflictEnvelope,) if booking else ()))
    answers = _one_of(f"{ok.__name__}Answer", *shapes)
    described = "confirm (read back), sent again, refused, or escalate" + (", or conflict" if booking else "")
    return {
        200: OpenApiResponse(answers, description=described),
        201: OpenApiResponse(ok, description="written and read back"),
        400: ERROR_400,
        401: ERROR_401,
        403: REFUSED_403,
        404: ERROR_404,
        409: OpenApiResponse(ErrorEnvelope, description="confirmation_id unknown, expired or for another body"),
        410: ENDED_410,
        503: UNAVAILABLE_503,
    }


def _responses(tool: ToolDefinition) -> dict:
    ok = _ok(f"Ok{tool.name.title().replace('_', '')}", tool.output(many=tool.output_many)) if tool.output else None
    if tool.answers == "read":
        return _read_responses(ok, example=tool.name == "appointments")
    if tool.answers in ("write", "booking"):
        return _write_responses(ok, booking=tool.answers == "booking")
    if tool.answers == "offers":
        return _offer_responses(ok)
    if tool.answers == "transfer":
        return {200: ok, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}
    return {"verify": VERIFY_RESPONSES, "end": END_RESPONSES}[tool.answers]


def _parameter(spec: Input) -> OpenApiParameter:
    kind = int if spec.kind == "integer" else str
    return OpenApiParameter(spec.name, kind, enum=list(spec.choices) or None, description=spec.description)


def describe(tool: ToolDefinition) -> dict:
    """The extend_schema arguments of a tool's REST endpoint, from its definition."""
    described: dict[str, object] = {"responses": _responses(tool), "summary": tool.summary}
    if tool.method == "GET":
        described["parameters"] = [_parameter(spec) for spec in tool.rest_inputs]
    else:
        described["request"] = tool.body
        described["parameters"] = [IDEMPOTENCY_KEY] if tool.idempotent else []
        described["parameters"] += [_parameter(WAIT)] if tool.pending else []  # `?wait=0` in the query
    return described
