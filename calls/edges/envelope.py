"""The one place that turns results and typed errors into the agent contract's envelope."""

import logging

from django.db import DatabaseError
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from calls import outcomes

log = logging.getLogger(__name__)


def error_response(errors: dict[str, str], http_status: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"status": "error", "errors": errors}, status=http_status)


def _flatten(detail, prefix: str = "") -> dict[str, str]:
    """DRF error detail (nested dicts/lists) as field path -> first message."""
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            name = "body" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(detail, list):
        if detail and all(not isinstance(d, (dict, list)) for d in detail):
            return {prefix or "body": str(detail[0])}
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "body": str(detail)}


def validation_envelope(exc: exceptions.ValidationError) -> tuple[int, dict]:
    return status.HTTP_400_BAD_REQUEST, {"status": "error", "errors": _flatten(exc.detail)}


def envelope(result) -> tuple[int, dict]:
    """A service result as (HTTP status, contract envelope): shared by REST, WebSocket, MCP and webhooks."""
    if isinstance(result, outcomes.Data):
        return result.http, {"status": "ok", "data": result.data, "source": result.source, "say": result.say}
    if isinstance(result, outcomes.NeedsMore):
        body = {"status": "needs_more", "missing": result.missing, "attempts_left": result.attempts_left}
        return 200, body | {"say": result.say}
    if isinstance(result, outcomes.Verified):
        return 200, {"status": "verified", "say": result.say}
    if isinstance(result, outcomes.Pending):
        return status.HTTP_202_ACCEPTED, {
            "status": "pending",
            "filler": result.filler,
            "retry_after_ms": result.retry_after_ms,
        }
    if isinstance(result, outcomes.Routed):
        body = {"transfer": result.transfer.as_dict(), "open_now": result.open_now, "say": result.say}
        return 200, {"status": "ok", "data": body, "source": "live", "say": result.say}
    raise TypeError(f"no envelope for {type(result).__name__}")


def refusal_envelope(exc: outcomes.CallRefusal) -> tuple[int, dict]:
    return exc.http, {"status": exc.status} | exc.body()


def render(result) -> Response:
    """A service result as the contract's envelope."""
    http, body = envelope(result)
    return Response(body, status=http)


def refusal(exc: outcomes.CallRefusal, http_status: int | None = None) -> Response:
    http, body = refusal_envelope(exc)
    response = Response(body, status=http_status or http)
    retry_after_ms = getattr(exc, "retry_after_ms", None)
    if retry_after_ms:
        response["Retry-After"] = str(max(1, round(retry_after_ms / 1000)))
    return response


# The gateway's own stores are down: no call, key or transfer target can be read, so the answer
# carries no transfer (the agent uses its own fallback line) and never any PHI (fail closed).
STORE_FAILURES = (DatabaseError, RedisError, ConnectionInterrupted)
STORE_DOWN_SAY = "I'm having trouble with our system right now. Let me connect you with someone who can help."


def store_unavailable() -> Response:
    body = {
        "status": "unavailable",
        "reason": "gateway_store_unavailable",
        "transfer": None,
        "say": STORE_DOWN_SAY,
        "retry_after_ms": 5000,
    }
    return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})


def exception_handler(exc, context):
    if isinstance(exc, outcomes.CallRefusal):
        return refusal(exc)
    if isinstance(exc, STORE_FAILURES):
        log.error("gateway store unavailable: %s", type(exc).__name__)
        return store_unavailable()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(_flatten(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return error_response({"body": "request body is not valid JSON"})
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = error_response({"authorization": str(exc.detail)}, status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = "Api-Key"
        return response
    if isinstance(exc, exceptions.NotFound):
        return error_response({"call_id": "not found"}, status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"status": "error", "errors": {"request": str(getattr(exc, "detail", exc))}}
    return response
