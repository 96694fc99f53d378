"""Retell custom functions posting to the gateway's Retell webhook (calls/edges/webhooks/retell.py)."""

from collections.abc import Sequence

from calls.registry.definitions import ToolDefinition


def render(tools: Sequence[ToolDefinition], *, base_url: str, health_system: str | None) -> list[dict]:
    url = f"{base_url}/api/v1/webhooks/retell/{health_system or '{health_system}'}"
    return [
        {
            "type": "custom",
            "name": t.function,
            "description": t.description,
            "url": url,
            "method": "POST",
            "headers": {"Authorization": "Api-Key {your key}"},
            "parameters": t.parameters,
            "speak_during_execution": t.phi,
            "speak_after_execution": True,
        }
        for t in tools
    ]
