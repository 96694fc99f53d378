"""OpenAI function calling (Chat Completions `tools`)."""

from collections.abc import Sequence

from calls.tools.agent_tools import AgentTool


def render(tools: Sequence[AgentTool], *, base_url: str, health_system: str | None) -> list[dict]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]
