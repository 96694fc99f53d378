"""One definition of every tool an LLM agent can call: name, description written for the LLM,
JSON Schema of its arguments, and the `say` convention every answer follows.

The PHI tools come from calls/tools/tool_specs.py; verify_caller, transfer and end_call carry no PHI.
Every manifest format (calls/edges/manifests/), the MCP server and the webhook adapters read from here.
"""

from dataclasses import dataclass

from calls.tools.tool_specs import MEDICATION_STATUSES, RANGES, TOOLS
from ehr_integrations.models import Purpose

SAY_CONVENTION = (
    " Answers are JSON with a `status`. `ok`: speak `say` as is (one short sentence, dates and times"
    " already in the caller's time zone) and use `data` only to answer follow-up questions."
    " `pending`: speak `filler`, then call again after `retry_after_ms`."
    " `needs_more`: ask the caller for the `missing` details."
    " `not_verified`: verify the caller first with verify_caller."
    " `unavailable` or `escalate`: speak `say` and offer to transfer the caller to `transfer`."
    " Never guess or fill in anything the answer does not contain."
)


@dataclass(frozen=True)
class AgentTool:
    name: str  # the function name the LLM calls
    description: str
    parameters: dict  # JSON Schema (type object) of the arguments
    phi: bool  # answers carry PHI: gated by verification and audited
    rest: str  # the REST endpoint it mirrors, under /api/v1/calls/{call_id}


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _phi_tool(name: str, parameters: dict) -> AgentTool:
    spec = TOOLS[name]
    return AgentTool(
        name=f"get_{name}",
        description=spec.description + SAY_CONVENTION,
        parameters=parameters,
        phi=True,
        rest=f"/{name}",
    )


VERIFY_PROPERTIES = {
    "date_of_birth": {"type": "string", "format": "date", "description": "YYYY-MM-DD, as the caller said it"},
    "ssn_last4": {"type": "string", "pattern": "^[0-9]{4}$", "description": "last four digits of the SSN"},
    "mrn": {"type": "string", "maxLength": 64, "description": "medical record number"},
    "phone": {"type": "string", "maxLength": 32, "description": "the caller's phone number on file"},
    "family_name": {"type": "string", "maxLength": 100, "description": "last name"},
    "given_name": {"type": "string", "maxLength": 100, "description": "first name"},
}

AGENT_TOOLS: tuple[AgentTool, ...] = (
    AgentTool(
        name="verify_caller",
        description=(
            "Confirm who the caller is before anything about their health can be shared. Call it on each"
            " turn with whichever details the caller has just given; details add up across turns. Never"
            " tell the caller which detail was wrong." + SAY_CONVENTION
        ),
        parameters=_object(VERIFY_PROPERTIES),
        phi=False,
        rest="/verify",
    ),
    _phi_tool(
        "appointments",
        _object({"range": {"type": "string", "enum": list(RANGES), "description": "default upcoming"}}),
    ),
    _phi_tool(
        "medications",
        _object({"status": {"type": "string", "enum": list(MEDICATION_STATUSES), "description": "default active"}}),
    ),
    _phi_tool(
        "messages",
        _object({"limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "default 5"}}),
    ),
    _phi_tool("patient", _object({})),
    AgentTool(
        name="transfer",
        description=(
            "Find the person to hand the caller to: scheduling, pharmacy, clinical (any medical question:"
            " never answer those yourself), verification or general. Needs no verification." + SAY_CONVENTION
        ),
        parameters=_object({"purpose": {"type": "string", "enum": list(Purpose.values)}}, required=("purpose",)),
        phi=False,
        rest="/transfer",
    ),
    AgentTool(
        name="end_call",
        description="End the call when the caller is done; everything the call held is erased." + SAY_CONVENTION,
        parameters=_object({"reason": {"type": "string", "maxLength": 64}}),
        phi=False,
        rest="/end",
    ),
)
BY_NAME = {tool.name: tool for tool in AGENT_TOOLS}
