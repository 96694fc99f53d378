"""MCP `tools/list` shape; the same list the /mcp endpoint serves (calls/mcp_server.py).

An MCP client talks to the gateway directly, so every tool names the call it is about.
"""

from collections.abc import Sequence

from calls.agent_tools import AgentTool

CALL_ID = {"type": "string", "format": "uuid", "description": "the call_id from POST /api/v1/calls"}


def input_schema(tool: AgentTool) -> dict:
    schema = dict(tool.parameters)
    schema["properties"] = {"call_id": CALL_ID} | tool.parameters["properties"]
    schema["required"] = ["call_id", *tool.parameters["required"]]
    return schema


def render(tools: Sequence[AgentTool], *, base_url: str, health_system: str | None) -> dict:
    return {
        "tools": [{"name": t.name, "description": t.description, "inputSchema": input_schema(t)} for t in tools],
        "endpoint": f"{base_url}/mcp",
    }
