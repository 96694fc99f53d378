"""MCP `tools/list` shape; the same list the /mcp endpoint serves (calls/edges/mcp_server.py).

An MCP client talks to the gateway directly: it opens the call with `open_call` (the REST API's
POST /api/v1/calls), and every other tool names the call it is about.
"""

from collections.abc import Sequence

from calls.tools.agent_tools import AgentTool

CALL_ID = {"type": "string", "format": "uuid", "description": "the call_id from open_call (or POST /api/v1/calls)"}
OPEN_CALL = "open_call"
OPEN_CALL_TOOL = {
    "name": OPEN_CALL,
    "description": (
        "Open a call at the start of the conversation, before any other tool; pass the `call_id` it"
        " returns to every other tool. Then verify the caller with verify_caller."
    ),
    "inputSchema": {
        "type": "object",
        "properties": {
            "health_system": {"type": "string", "description": "the health system's slug"},
            "caller_phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "E.164 caller ID"},
            "external_id": {"type": "string", "maxLength": 200, "description": "the voice platform's call id"},
        },
        "required": ["health_system"],
        "additionalProperties": False,
    },
}


def input_schema(tool: AgentTool) -> dict:
    schema = dict(tool.parameters)
    schema["properties"] = {"call_id": CALL_ID} | tool.parameters["properties"]
    schema["required"] = ["call_id", *tool.parameters["required"]]
    return schema


def render(tools: Sequence[AgentTool], *, base_url: str, health_system: str | None) -> dict:
    return {
        "tools": [
            OPEN_CALL_TOOL,
            *({"name": t.name, "description": t.description, "inputSchema": input_schema(t)} for t in tools),
        ],
        "endpoint": f"{base_url}/mcp",
    }
