"""OpenAI function calling (Chat Completions `tools`)."""

from collections.abc import Sequence

from calls.registry.definitions import ToolDefinition


def render(tools: Sequence[ToolDefinition], *, base_url: str, health_system: str | None) -> list[dict]:
    return [
        {"type": "function", "function": {"name": t.function, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]
