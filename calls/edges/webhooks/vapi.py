"""Vapi: a `tool-calls` server message in, `{"results": [{"toolCallId", "result"}]}` out.

Authenticated by the agent client's API key (set as a header on the Vapi tool's server) and, when
the client has a Vapi secret on file, by Vapi's `X-Vapi-Secret` header too.
"""

import hmac
import json

from rest_framework import exceptions
from rest_framework.request import Request

from calls.edges.webhooks.common import PlatformToolCall, arguments_of, caller_number, object_at, secret_for
from calls.models import WebhookPlatform

PLATFORM = WebhookPlatform.VAPI


def check(request: Request) -> None:
    secret = secret_for(request.user, PLATFORM)
    given = request.headers.get("X-Vapi-Secret", "")
    if secret is not None and not hmac.compare_digest(secret.encode(), given.encode()):
        raise exceptions.AuthenticationFailed("X-Vapi-Secret does not match")


def parse(body: dict) -> tuple[str, str | None, list[PlatformToolCall]]:
    """(Vapi call id, caller number, tool calls) of a tool-calls message."""
    message = object_at(body, "message", "message")
    if message.get("type") != "tool-calls":
        raise exceptions.ValidationError({"message.type": "only tool-calls messages are handled"})
    call = object_at(message, "call", "message.call")
    customer = object_at(message, "customer", "message.customer") or object_at(
        call, "customer", "message.call.customer"
    )
    listed = message.get("toolCallList") or message.get("toolCalls") or []
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        raise exceptions.ValidationError({"message.toolCallList": "must be a list of objects"})
    calls = [_tool_call(item) for item in listed]
    if not call.get("id") or not calls:
        raise exceptions.ValidationError({"message": "needs call.id and toolCallList"})
    return str(call["id"]), caller_number(customer.get("number")), calls


def _tool_call(item: dict) -> PlatformToolCall:
    function = object_at(item, "function", "message.toolCallList[].function")
    return PlatformToolCall(
        id=str(item.get("id", "")),
        name=str(function.get("name", "")),
        arguments=arguments_of(function.get("arguments", {})),
    )


def reply(answers: list[tuple[PlatformToolCall, dict]]) -> dict:
    return {"results": [{"toolCallId": tc.id, "result": json.dumps(answer)} for tc, answer in answers]}
