"""MCP `tools/list` shape; the same list the /mcp endpoint serves (calls/edges/mcp_server.py).

An MCP client talks to the gateway directly: it opens the call with `open_call` (the REST API's
POST /api/v1/calls), and every other tool names the call it is about.
"""

from collections.abc import Sequence

from calls.registry.definitions import OPEN_CALL_DESCRIPTION, OPEN_CALL_FUNCTION, OPEN_CALL_INPUTS, ToolDefinition
from calls.registry.inputs import object_schema

CALL_ID = {"type": "string", "format": "uuid", "description": "the call_id from open_call (or POST /api/v1/calls)"}
OPEN_CALL = OPEN_CALL_FUNCTION
OPEN_CALL_TOOL = {
    "name": OPEN_CALL,
    "description": OPEN_CALL_DESCRIPTION,
    "inputSchema": object_schema(OPEN_CALL_INPUTS),
}


def input_schema(tool: ToolDefinition) -> dict:
    schema = dict(tool.parameters)
    schema["properties"] = {"call_id": CALL_ID} | tool.parameters["properties"]
    schema["required"] = ["call_id", *tool.parameters["required"]]
    return schema


def _tool(tool: ToolDefinition) -> dict:
    listed = {"name": tool.function, "description": tool.description, "inputSchema": input_schema(tool)}
    if tool.write:  # additive writes: the two-step confirm, not the client's prompt, is the safeguard
        listed["annotations"] = {
            "readOnlyHint": False,
            "destructiveHint": tool.destructive,
            "idempotentHint": tool.idempotent,
        }
    return listed


def render(tools: Sequence[ToolDefinition], *, base_url: str, health_system: str | None) -> dict:
    return {
        "tools": [
            OPEN_CALL_TOOL,
            *(_tool(t) for t in tools),
        ],
        "endpoint": f"{base_url}/mcp",
    }
