"""The MCP endpoint with the official SDK's client over streamable HTTP, against a running gateway."""

import asyncio
import json

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from audit.models import AuditRecord
from calls.registry.definitions import TOOLS
from tests.calls.conftest import open_call, wait_for_prefetch


async def _session_run(url: str, key: str, steps):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        async with streamable_http_client(f"{url}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await steps(session)


def mcp(gateway, key: str, steps):
    return asyncio.run(_session_run(gateway.url, key, steps))


def answer(result) -> dict:
    return json.loads(result.content[0].text)


def test_a_real_mcp_client_lists_the_tools(gateway, agent):
    listed = mcp(gateway, agent.api_key, lambda session: session.list_tools())
    assert [tool.name for tool in listed.tools] == ["open_call", *(tool.function for tool in TOOLS)]
    assert all("call_id" in tool.input_schema["required"] for tool in listed.tools[1:])


def test_an_mcp_client_opens_its_own_call_and_verifies_in_it(gateway, agent, patient):
    async def steps(session):
        unknown = answer(await session.call_tool("open_call", {"health_system": "elsewhere"}))
        invalid = answer(await session.call_tool("open_call", {"health_system": "riverside", "caller_phone": "12"}))
        opened = answer(await session.call_tool("open_call", {"health_system": "riverside"}))
        call_id = opened["data"]["call_id"]
        verified = await session.call_tool(
            "verify_caller", {"call_id": call_id, "date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        )
        return unknown, invalid, opened, answer(verified)

    unknown, invalid, opened, verified = mcp(gateway, agent.api_key, steps)
    assert unknown == {"status": "error", "errors": {"health_system": "not found"}}
    assert invalid["status"] == "error" and "caller_phone" in invalid["errors"]
    assert opened["status"] == "ok" and opened["data"]["state"] == "unverified"
    assert verified["status"] == "verified"


def test_a_verified_call_runs_its_tools_over_mcp_with_the_same_gating_and_audit(gateway, api, agent, patient):
    call_id = open_call(api)

    async def steps(session):
        refused = await session.call_tool("get_appointments", {"call_id": call_id})
        verified = await session.call_tool(
            "verify_caller", {"call_id": call_id, "date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        )
        await asyncio.to_thread(wait_for_prefetch, call_id)
        results = {}
        for name in ("get_appointments", "get_medications", "get_messages", "get_patient"):
            results[name] = answer(await session.call_tool(name, {"call_id": call_id}))
        routed = await session.call_tool("transfer", {"call_id": call_id, "purpose": "clinical"})
        ended = await session.call_tool("end_call", {"call_id": call_id})
        after = await session.call_tool("get_patient", {"call_id": call_id})
        return answer(refused), answer(verified), results, answer(routed), answer(ended), answer(after)

    refused, verified, results, routed, ended, after = mcp(gateway, agent.api_key, steps)
    assert refused["status"] == "not_verified"
    assert verified["status"] == "verified"
    assert all(body["status"] == "ok" and body["say"] for body in results.values()), results
    assert results["get_patient"]["data"]["given_name"] == patient["given"]
    assert routed["data"]["transfer"]["purpose"] == "clinical"
    assert ended == {"status": "ended"} and after["status"] == "ended"
    reads = AuditRecord.objects.filter(call_session=call_id, action="read")
    assert reads.filter(outcome="denied").count() == 1 and reads.filter(outcome="success").count() == 4


def test_mcp_finds_only_the_keys_own_calls(gateway, api, site):
    from tests import builders

    call_id = open_call(api)
    intruder = builders.agent_client("Intruder", site)
    result = mcp(gateway, intruder.api_key, lambda s: s.call_tool("get_patient", {"call_id": call_id}))
    assert result.is_error and answer(result) == {"status": "error", "errors": {"call_id": "not found"}}


def test_mcp_without_a_valid_key_is_401(gateway):
    response = httpx2.post(f"{gateway.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401
    response = httpx2.post(
        f"{gateway.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer vgw_nope_nope"},
    )
    assert response.status_code == 401
