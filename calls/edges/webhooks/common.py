"""What every platform adapter shares: the platform's call mapped onto a gateway call, and the runs."""

import json
from dataclasses import dataclass

from rest_framework import exceptions

from calls.models import AgentClient, CallSession, WebhookSecret
from calls.registry import run
from calls.session import call_sessions
from calls.session.access_log import AuditContext
from calls.session.baa_gate import ensure_covered
from calls.session.selectors import health_system_for_client
from compliance import encryption
from ehr_integrations.identity import normalize_phone


@dataclass(frozen=True)
class PlatformToolCall:
    id: str  # the platform's id for this tool call ("" when it has none)
    name: str
    arguments: dict


def secret_for(client: AgentClient, platform: str) -> str | None:
    stored = WebhookSecret.objects.filter(agent_client=client, platform=platform).first()
    return encryption.decrypt(stored.secret_encrypted) if stored else None


def object_at(parent: dict, key: str, where: str) -> dict:
    """A nested object of a platform's body ({} when absent); any other type is a 400 naming it."""
    value = parent.get(key) or {}
    if not isinstance(value, dict):
        raise exceptions.ValidationError({where: "must be a JSON object"})
    return value


def caller_number(raw: object) -> str | None:
    """The platform's caller number in E.164, or None: it keys the per-caller limits, so one spelling."""
    return normalize_phone(raw) if isinstance(raw, str) else None


def arguments_of(raw: object) -> dict:
    """Platforms send arguments as an object or as a JSON string."""
    if isinstance(raw, str):
        raw = json.loads(raw or "{}")
    if not isinstance(raw, dict):
        raise ValueError("arguments must be an object")
    return raw


def platform_call(
    *, client: AgentClient, slug: str, platform: str, external_id: str, caller_phone: str | None
) -> CallSession:
    """The gateway call for the platform's call: opened on its first tool call, found afterwards."""
    system = health_system_for_client(client=client, slug=slug)
    reference = f"{platform}:{external_id}"[:200]
    call = (
        CallSession.objects.select_related("health_system", "health_system__verification_policy")
        .filter(agent_client=client, health_system=system, external_id=reference)
        .first()
    )
    if call is None:
        ensure_covered(client=client, health_system=system)
        call = call_sessions.open_call(
            client=client, health_system=system, caller_phone=caller_phone, external_id=reference
        )
    return call


def run_all(
    call: CallSession, tool_calls: list[PlatformToolCall], context: AuditContext
) -> list[tuple[PlatformToolCall, dict]]:
    return [
        (tc, run.run_function(function=tc.name, call=call, arguments=tc.arguments, context=context)[1])
        for tc in tool_calls
    ]
