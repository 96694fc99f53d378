"""Vapi function tools whose server is the gateway's Vapi webhook (calls/edges/webhooks/vapi.py)."""

from collections.abc import Sequence

from calls.registry.definitions import ToolDefinition
from calls.tools.fillers import GENERAL


def render(tools: Sequence[ToolDefinition], *, base_url: str, health_system: str | None) -> list[dict]:
    url = f"{base_url}/api/v1/webhooks/vapi/{health_system or '{health_system}'}"
    return [
        {
            "type": "function",
            "async": False,
            "function": {"name": t.function, "description": t.description, "parameters": t.parameters},
            "server": {"url": url, "headers": {"Authorization": "Api-Key {your key}"}},
            "messages": [{"type": "request-start", "content": GENERAL[0]}] if t.phi else [],
        }
        for t in tools
    ]
