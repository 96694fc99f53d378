"""Tool manifests: one definition, five formats, each valid against its platform's published shape."""

import jsonschema
import pytest

from calls.registry.definitions import BY_FUNCTION, OPEN_CALL_VALIDATOR, TOOLS
from calls.tools.tool_specs import TOOLS as READS

pytestmark = pytest.mark.django_db
NAME = {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"}
PARAMETERS = {
    "type": "object",
    "properties": {"type": {"const": "object"}, "properties": {"type": "object"}, "required": {"type": "array"}},
    "required": ["type", "properties"],
}
# OpenAI Chat Completions `tools` (platform.openai.com function calling): a function tool is
# {"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}}.
OPENAI_TOOLS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "type": {"const": "function"},
            "function": {
                "type": "object",
                "properties": {
                    "name": NAME,
                    "description": {"type": "string"},
                    "parameters": PARAMETERS,
                    "strict": {"type": ["boolean", "null"]},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        },
        "required": ["type", "function"],
        "additionalProperties": False,
    },
}
# Anthropic Messages API `tools` (docs.anthropic.com tool use): {"name", "description"?, "input_schema"}
# where input_schema is a JSON Schema object with "type": "object".
ANTHROPIC_TOOLS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": NAME,
            "description": {"type": "string"},
            "input_schema": PARAMETERS,
            "cache_control": {"type": ["object", "null"]},
            "type": {"enum": ["custom", None]},
        },
        "required": ["name", "input_schema"],
        "additionalProperties": False,
    },
}


def tools(api, format_name: str):
    response = api.get(f"/api/v1/tools?format={format_name}")
    assert response.status_code == 200, response.content
    return response.json()


def test_openai_manifest_matches_the_published_shape(api):
    manifest = tools(api, "openai")
    jsonschema.validate(manifest, OPENAI_TOOLS)
    assert [t["function"]["name"] for t in manifest] == [t.function for t in TOOLS]


def test_anthropic_manifest_matches_the_published_shape(api):
    manifest = tools(api, "anthropic")
    jsonschema.validate(manifest, ANTHROPIC_TOOLS)
    assert {t["name"] for t in manifest} == set(BY_FUNCTION)


def test_every_argument_schema_is_valid_json_schema():
    for tool in TOOLS:
        jsonschema.Draft202012Validator.check_schema(tool.parameters)


def test_one_definition_covers_every_phi_tool_plus_verify_transfer_and_end():
    assert {t.function for t in TOOLS if t.phi and not t.write} == {f"get_{name}" for name in READS} | {
        "find_appointment_times"
    }
    assert {t.function for t in TOOLS if t.write} >= {"request_refill", "message_care_team", "book_appointment"}
    assert {t.function for t in TOOLS if not t.phi} == {"verify_caller", "transfer", "end_call"}
    assert all("`say`" in t.description for t in TOOLS)


def test_verify_caller_arguments_are_exactly_what_the_verify_endpoint_accepts():
    verify = BY_FUNCTION["verify_caller"]
    assert set(verify.parameters["properties"]) == set(verify.validator(strict=True)().fields)


def test_mcp_manifest_opens_the_call_then_adds_the_call_id_every_other_tool_needs(api):
    manifest = tools(api, "mcp")
    assert manifest["endpoint"].endswith("/mcp")
    opener, *others = manifest["tools"]
    assert opener["name"] == "open_call" and opener["inputSchema"]["required"] == ["health_system"]
    assert set(opener["inputSchema"]["properties"]) == set(OPEN_CALL_VALIDATOR().fields)
    for tool in manifest["tools"]:
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
    assert all(tool["inputSchema"]["required"][0] == "call_id" for tool in others)


def test_vapi_and_retell_manifests_point_at_their_webhooks(api):
    vapi = tools(api, "vapi")
    assert all(t["server"]["url"].endswith("/api/v1/webhooks/vapi/riverside") for t in vapi)
    assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in vapi)
    retell = tools(api, "retell")
    assert all(t["url"].endswith("/api/v1/webhooks/retell/riverside") and t["type"] == "custom" for t in retell)


def test_unknown_format_is_a_400_naming_the_choices(api):
    response = api.get("/api/v1/tools?format=langchain")
    assert response.status_code == 400 and "openai" in response.json()["errors"]["format"]


def test_manifests_need_an_api_key(client):
    assert client.get("/api/v1/tools").status_code == 401
