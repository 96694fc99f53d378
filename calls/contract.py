"""The agent contract's envelope (docs/agent-api.md): every answer as (HTTP status, body).

The one builder of envelopes: REST, the WebSocket, MCP and the webhook adapters all answer with
these bodies; the edges only wrap them in their transport (calls/edges/envelope.py for REST).
"""

from rest_framework import exceptions, status

from calls import outcomes

Envelope = tuple[int, dict]

# The gateway's own stores are down: no call, key or transfer target can be read, so the answer
# carries no transfer (the agent uses its own fallback line) and never any PHI (fail closed).
STORE_DOWN_SAY = "I'm having trouble with our system right now. Let me connect you with someone who can help."
STORE_DOWN_RETRY_S = 5


def error(errors: dict[str, str], http_status: int = status.HTTP_400_BAD_REQUEST) -> Envelope:
    """A refused request: each field named with what is wrong with it."""
    return http_status, {"status": "error", "errors": errors}


def not_found(field: str) -> Envelope:
    """What was not found, without saying whether it exists for someone else."""
    return error({field: "not found"}, status.HTTP_404_NOT_FOUND)


def flatten(detail: object, prefix: str = "") -> dict[str, str]:
    """DRF error detail (nested dicts/lists) as field path -> first message."""
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            name = "body" if key == "non_field_errors" else str(key)
            out.update(flatten(value, f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(detail, list):
        if detail and all(not isinstance(d, (dict, list)) for d in detail):
            return {prefix or "body": str(detail[0])}
        out = {}
        for index, value in enumerate(detail):
            out.update(flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "body": str(detail)}


def validation_envelope(exc: exceptions.ValidationError) -> Envelope:
    return error(flatten(exc.detail))


def envelope(result: outcomes.Result) -> Envelope:
    """A service result as (HTTP status, contract envelope)."""
    if isinstance(result, outcomes.Data):
        return result.http, {"status": "ok", "data": result.data, "source": result.source, "say": result.say}
    if isinstance(result, outcomes.NeedsMore):
        body = {"status": "needs_more", "missing": result.missing, "attempts_left": result.attempts_left}
        return 200, body | {"ask": result.ask, "prompt": result.prompt, "say": result.say}
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
    if isinstance(result, outcomes.Ended):
        return 200, {"status": "ended"}
    if isinstance(result, outcomes.Confirm):
        body = {"status": "confirm", "confirmation_id": result.confirmation_id, "expires_in_s": result.expires_in_s}
        return 200, body | {"data": result.data, "say": result.say}
    if isinstance(result, outcomes.Refused):
        return 200, {"status": "refused", "reason": result.reason, "say": result.say}
    if isinstance(result, outcomes.Conflict):
        return 200, {"status": "conflict", "reason": result.reason, "data": result.data, "say": result.say}
    raise TypeError(f"no envelope for {type(result).__name__}")


def refusal_envelope(exc: outcomes.CallRefusal) -> Envelope:
    return exc.http, {"status": exc.status} | exc.body()


def store_unavailable() -> Envelope:
    body = {
        "status": "unavailable",
        "reason": "gateway_store_unavailable",
        "transfer": None,
        "say": STORE_DOWN_SAY,
        "retry_after_ms": STORE_DOWN_RETRY_S * 1000,
    }
    return status.HTTP_503_SERVICE_UNAVAILABLE, body
