"""Anthropic Messages API `tools`."""

from collections.abc import Sequence

from calls.tools.agent_tools import AgentTool


def render(tools: Sequence[AgentTool], *, base_url: str, health_system: str | None) -> list[dict]:
    return [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools]
