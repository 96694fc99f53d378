"""Retell: a custom function call in (`{"name", "call", "args"}`), the envelope out.

Every request must carry `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of body + timestamp>`
made with the client's Retell API key (kept encrypted as its Retell webhook secret), no older
than five minutes. The agent client is the API key's (header set on the Retell function).
"""

import hashlib
import hmac
import time

from rest_framework import exceptions
from rest_framework.request import Request

from calls.edges.webhooks.common import PlatformToolCall, arguments_of, caller_number, object_at, secret_for
from calls.models import WebhookPlatform

PLATFORM = WebhookPlatform.RETELL
MAX_AGE_MS = 5 * 60 * 1000


def sign(body: bytes, secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), body + str(timestamp_ms).encode(), hashlib.sha256).hexdigest()
    return f"v={timestamp_ms},d={digest}"


def check(request: Request) -> None:
    secret = secret_for(request.user, PLATFORM)
    parts = dict(part.split("=", 1) for part in request.headers.get("X-Retell-Signature", "").split(",") if "=" in part)
    if secret is None or not parts.get("v", "").isdigit():
        raise exceptions.AuthenticationFailed("X-Retell-Signature missing or no Retell secret on file")
    timestamp = int(parts["v"])
    if abs(time.time() * 1000 - timestamp) > MAX_AGE_MS:
        raise exceptions.AuthenticationFailed("X-Retell-Signature too old")
    if not hmac.compare_digest(sign(request.body, secret, timestamp), f"v={timestamp},d={parts.get('d', '')}"):
        raise exceptions.AuthenticationFailed("X-Retell-Signature does not match")


def parse(body: dict) -> tuple[str, str | None, list[PlatformToolCall]]:
    """(Retell call id, caller number, the one function call)."""
    call = object_at(body, "call", "call")
    if not call.get("call_id") or not body.get("name"):
        raise exceptions.ValidationError({"body": "needs name and call.call_id"})
    caller = call.get("from_number") if call.get("direction", "inbound") == "inbound" else call.get("to_number")
    return (
        str(call["call_id"]),
        caller_number(caller),
        [PlatformToolCall(id="", name=str(body["name"]), arguments=arguments_of(body.get("args") or {}))],
    )


def reply(answers: list[tuple[PlatformToolCall, dict]]) -> dict:
    return answers[0][1]
