"""Anthropic Messages API `tools`."""

from collections.abc import Sequence

from calls.registry.definitions import ToolDefinition


def render(tools: Sequence[ToolDefinition], *, base_url: str, health_system: str | None) -> list[dict]:
    return [{"name": t.function, "description": t.description, "input_schema": t.parameters} for t in tools]
