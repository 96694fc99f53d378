"""Malformed input of every kind gets a JSON envelope, never a 500 (issue 19).

- Every REST operation of the OpenAPI schema the tool definitions produce: schemathesis, negative
  and positive data, 200 cases per operation, half of them on a verified call (in-process WSGI);
  every answer to positive data also conforms to the schema (status code, content type, body).
- Hostile requests the schema does not describe: JSON nested up to 1,000 deep, bodies over the
  limit (declared and chunked), wrong content types, invalid UTF-8, unicode digits in every query
  field, spoofed forwarded headers, unknown paths.
- The Vapi and Retell webhooks with generated shapes, MCP and the WebSocket handshake over real
  HTTP to a uvicorn gateway.
Every answer is JSON; no 5xx but a 503 that is the typed `unavailable` envelope.

The module builds its world once (a health system wired to the sandbox EHR, two agent clients),
committed so the live gateway sees it, and flushes it when done: a flush per test cost more than
the tests.
"""

import json
import string
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from calls.edges import limits
from calls.models import AgentClient
from ehr_integrations.transport import local_cache
from tests import builders
from tests.calls.conftest import open_call, verified_call, wait_for_prefetch, wire_to_sandbox

CASES_PER_OPERATION = 200  # the floor; half negative, half positive data
# What the schema promises of an answer to valid input (tests/calls/test_openapi.py checks the document).
CONFORMANCE = [response_schema_conformance, status_code_conformance, content_type_conformance]
SENT: dict[str, int] = {}


def _settings(examples: int) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )


def check_answer(status: int, content_type: str, body: bytes, where: str, *, envelope: bool = True) -> None:
    """JSON, and no 5xx except the typed `unavailable` 503 (`envelope`: a refusal carries `status`;
    MCP's own protocol errors are JSON-RPC objects instead)."""
    assert status < 500 or status == 503, f"{where}: {status} {body[:300]!r}"
    assert content_type.split(";")[0].strip() == "application/json", f"{where}: {status} {content_type} {body[:200]!r}"
    answer = json.loads(body)
    if status == 503:
        assert answer["status"] == "unavailable" and "reason" in answer, f"{where}: {answer}"
    if status >= 400 and envelope:
        assert isinstance(answer, dict) and "status" in answer, f"{where}: {answer}"


def _count(name: str) -> None:
    SENT[name] = SENT.get(name, 0) + 1


@dataclass(frozen=True)
class World:
    agent: AgentClient
    other_agent: AgentClient  # allowed another health system only
    api: APIClient
    patient: dict


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, sandbox_factory):
    """The module's health system, agent clients and API client, committed; flushed at the end."""
    sandbox = sandbox_factory()
    sandbox.reset()
    with django_db_blocker.unblock():
        cache.clear()
        local_cache.clear_all()
        system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
        wire_to_sandbox(system, sandbox, client_id="gw-riverside")
        agent = builders.agent_client("Acme Voice", system)
        other = builders.agent_client("Other Voice", builders.health_system(slug="elsewhere"))
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
        complete = sandbox.hard_cases()["complete"]
        patient = next(p for p in sandbox.patients() if p["id"] == complete)
        try:
            yield World(agent=agent, other_agent=other, api=api, patient=patient)
        finally:
            call_command("flush", interactive=False, verbosity=0)
            cache.clear()
            local_cache.clear_all()
    sandbox.reset()


@pytest.fixture
def transactional_db(world) -> None:
    """This module's database: `world`, committed once (the live gateway reads it) and flushed when the
    module ends, where the suite's transactional_db flushes after every test (more time than the tests).
    Every test asks for it, so pytest-django sets the test database up even for one test alone."""


pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(autouse=True)
def _clean_cache():
    """The suite clears the cache around every test; here the module's calls and tokens live in it."""
    yield


def _verified(world: World) -> str:
    call_id = verified_call(world.api, world.patient)
    wait_for_prefetch(call_id)
    return call_id


@pytest.fixture
def calls(world) -> dict:
    return {"verified": _verified(world), "unverified": open_call(world.api)}


@pytest.fixture
def agent(world) -> AgentClient:
    return world.agent


# -- every REST operation, from the schema ----------------------------------------------------------------


class SharedCalls:
    """The calls the generated cases run on, one verified and one open, each replaced once a case has
    changed it for good (ended, escalated, or verified the open one): a fresh call per case cost more
    than the cases."""

    SPENT = {"verified": {"ended", "escalate", "not_verified"}, "unverified": {"ended", "escalate", "verified"}}

    def __init__(self, world: World) -> None:
        self.world, self.ids = world, {}

    def get(self, kind: str) -> str:
        if kind not in self.ids:
            self.ids[kind] = _verified(self.world) if kind == "verified" else open_call(self.world.api)
        return self.ids[kind]

    def answered(self, kind: str, body: bytes) -> None:
        answer = json.loads(body)
        if isinstance(answer, dict) and answer.get("status") in self.SPENT[kind]:
            del self.ids[kind]


def _operation_exercise(world: World, shared: SharedCalls, label: str, mode: GenerationMode):
    """Send one generated case: half on the verified call, a quarter on the open one, the rest on the
    generated id; answers to valid input must also conform to the schema."""
    headers = {"Authorization": f"Api-Key {world.agent.api_key}"}
    turn = {"n": 0}

    def exercise(case) -> None:
        turn["n"] += 1
        kind = None
        if case.path_parameters and "call_id" in case.path_parameters and turn["n"] % 4 != 2:
            kind = "verified" if turn["n"] % 2 else "unverified"
            case.path_parameters["call_id"] = shared.get(kind)
        response = case.call(headers=headers)
        _count(label)
        content_type = (response.headers.get("content-type") or [""])[0]  # schemathesis: lower-case names, lists
        check_answer(response.status_code, content_type, response.content, label)
        if kind:
            shared.answered(kind, response.content)
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=CONFORMANCE)

    return exercise


@pytest.mark.timeout(300)
def test_every_rest_operation_answers_generated_input_with_an_envelope(world):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    shared = SharedCalls(world)
    for operation in operations:
        for mode in (GenerationMode.NEGATIVE, GenerationMode.POSITIVE):
            exercise = _operation_exercise(world, shared, operation.label, mode)
            _settings(CASES_PER_OPERATION // 2)(given(case=operation.as_strategy(generation_mode=mode))(exercise))()
    rest = {label: n for label, n in SENT.items() if label.startswith(("GET", "POST"))}
    assert len(rest) == len(operations) >= 11
    assert min(rest.values()) >= CASES_PER_OPERATION * 0.9, rest  # hypothesis may stop early on tiny spaces


# -- what the schema does not describe ----------------------------------------------------------------------

UNICODE_DIGITS = [
    "²",
    "٣",
    "۴",
    "१",
    "৫",
    "๖",
    "７",
    "𝟠",
    "Ⅸ",
    "½",
    "1e3",
    " 5",
    "5\u00a0",
    "-0",
    "0x10",
    "9" * 400,
    "\x00",
    "%ED%B3%BF",
    "5\n",
    "+5",
    "5.0",
    "",
    "[]",
    "%",
    "%ff",
]
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/json; charset=latin-1",
    "",
    "application/json;;",
    "*/*",
]


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


bodies = st.one_of(
    st.integers(min_value=limits.MAX_JSON_DEPTH + 1, max_value=1000).map(_nested),
    st.integers(min_value=1, max_value=limits.MAX_JSON_DEPTH).map(_nested),
    st.integers(min_value=2, max_value=1000).map(lambda d: b"[" * d + b"]" * d),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"NaN",
            b'{"a": Infinity}',
            b"\xff\xfe{}",
            b'{"date_of_birth": "\xc3"}',
            b'"x"',
            b"[]",
            b"null",
            b'{"date_of_birth": 19800101, "mrn": ["a"], "ssn_last4": {"$gt": ""}}',
            b"1" * 5000,
        ]
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.parametrize("path_kind", ["tool", "calls", "webhook", "unknown"])
def test_hostile_requests_get_an_envelope(calls, agent, path_kind):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    tools = ["appointments", "medications", "messages", "patient", "transfer", "verify", "end", "ws-ticket", ""]

    @_settings(120)
    @given(
        tool=st.sampled_from(tools),
        method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
        query=st.dictionaries(
            st.sampled_from(["limit", "range", "status", "wait", "purpose", "format", "key", "x"]),
            st.sampled_from(UNICODE_DIGITS),
            max_size=3,
        ),
        body=bodies,
        content_type=st.sampled_from(["application/json", "application/json", *CONTENT_TYPES]),
        spoof=st.booleans(),
        verified=st.booleans(),
    )
    def exercise(tool, method, query, body, content_type, spoof, verified):
        call_id = calls["verified" if verified else "unverified"]
        path = {
            "tool": f"/api/v1/calls/{call_id}/{tool}".rstrip("/"),
            "calls": "/api/v1/calls",
            "webhook": "/api/v1/webhooks/vapi/riverside",
            "unknown": f"/api/v1/calls/{tool or 'not-a-uuid'}/x",
        }[path_kind]
        extra = (
            {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "10.0.0.1, 169.254.169.254"} if spoof else {}
        )
        response = client.generic(
            method,
            path,
            body if method not in ("GET", "HEAD") else b"",
            content_type=content_type,
            QUERY_STRING="&".join(f"{k}={quote(v)}" for k, v in query.items()),
            **extra,
        )
        _count(f"hostile {path_kind}")
        if method == "HEAD":
            assert response.status_code < 500
            return
        check_answer(response.status_code, response.get("Content-Type", ""), response.content, f"{method} {path}")

    exercise()


def test_a_body_over_the_limit_is_413_naming_the_limit(calls, agent):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    big = b'{"mrn": "' + b"1" * limits.MAX_BODY_BYTES + b'"}'
    response = client.post(f"/api/v1/calls/{calls['unverified']}/verify", big, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"status": "error", "errors": limits.TOO_LARGE}


def test_json_nested_past_the_limit_is_400_naming_the_limit(calls, agent):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    for depth in (limits.MAX_JSON_DEPTH + 1, 1000, 100_000):
        response = client.post("/api/v1/calls", _nested(depth), content_type="application/json")
        assert response.status_code == 400 and response.json()["errors"] == limits.TOO_DEEP


def test_a_404_names_what_was_not_found(calls, world):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Api-Key {world.other_agent.api_key}")
    foreign = client.get(f"/api/v1/calls/{calls['verified']}/appointments")
    missing = client.get("/api/v1/calls/00000000-0000-4000-8000-000000000000/appointments")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"status": "error", "errors": {"call_id": "not found"}}
    assert client.get("/api/v1/tools?health_system=riverside").json()["errors"] == {"health_system": "not found"}
    assert client.get("/api/v1/nothing").json() == {"status": "error", "errors": {"path": "not found"}}
    assert client.get("/jwks/nobody.json").json()["errors"] == {"health_system": "not found"}


def test_the_chunked_body_limit_holds_over_a_real_server(gateway, agent):
    def chunks():
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB in all, no Content-Length

    response = httpx.post(
        f"{gateway.url}/api/v1/calls",
        content=chunks(),
        timeout=15,
        headers={"Authorization": f"Api-Key {agent.api_key}", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 413) and response.json()["status"] == "error"


# -- webhooks ------------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.sampled_from(UNICODE_DIGITS),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "name", "arguments", "type", "call", "args", "function"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)


def _vapi(message: dict) -> dict:
    return {"message": message}


vapi_bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["tool-calls", "status-update", 5, None]),
            "toolCallList": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "id": scalars,
                        "type": scalars,
                        "function": st.fixed_dictionaries(
                            {},
                            optional={
                                "name": st.sampled_from(["get_appointments", "verify_caller", "x"]) | scalars,
                                "arguments": json_values | st.text(max_size=30),
                            },
                        ),
                    },
                ),
                max_size=3,
            )
            | json_values,
            "call": st.fixed_dictionaries({}, optional={"id": scalars, "customer": json_values}) | json_values,
            "customer": st.fixed_dictionaries({}, optional={"number": scalars}) | json_values,
        },
    ).map(_vapi)
    | json_values
)

retell_bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["get_appointments", "verify_caller"]) | scalars,
            "call": st.fixed_dictionaries({}, optional={"call_id": scalars, "from_number": scalars}) | json_values,
            "args": json_values,
        },
    )
    | json_values
)


@pytest.mark.parametrize("platform", ["vapi", "retell"])
def test_webhooks_answer_every_generated_shape_with_json(calls, agent, platform):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")

    @_settings(100)
    @given(
        body=vapi_bodies if platform == "vapi" else retell_bodies,
        signature=st.sampled_from(["", "v=²,d=abc", "v=1,d=", "garbage", "v=99999999999999999999999,d=00"]),
    )
    def exercise(body, signature):
        response = client.post(
            f"/api/v1/webhooks/{platform}/riverside",
            json.dumps(body),
            content_type="application/json",
            HTTP_X_VAPI_SECRET=signature,
            HTTP_X_RETELL_SIGNATURE=signature,
        )
        _count(f"webhook {platform}")
        check_answer(response.status_code, response.get("Content-Type", ""), response.content, platform)

    exercise()


# -- MCP and the WebSocket handshake, over real HTTP ---------------------------------------------------------


def test_mcp_answers_generated_messages_with_json(gateway, calls, agent):
    headers = {"Authorization": f"Api-Key {agent.api_key}", "Accept": "application/json, text/event-stream"}
    http = httpx.Client(base_url=gateway.url, timeout=15)
    tool_names = ["get_appointments", "verify_caller", "open_call", "end_call", "nope"]

    @_settings(200)
    @given(
        method=st.sampled_from(["tools/call", "tools/list", "initialize", "ping", "x/y", 5]),
        name=st.sampled_from(tool_names) | scalars,
        arguments=json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "call_id": st.sampled_from([calls["verified"], calls["unverified"], "not-a-uuid", "²"]) | scalars,
                "limit": scalars,
                "range": scalars,
            },
        ),
        raw=st.sampled_from([None, None, None, _nested(40), _nested(1000), b"{", b"\xff", b"[]", b"1" * 2000]),
        content_type=st.sampled_from(["application/json", "application/json", "text/plain", ""]),
    )
    def exercise(method, name, arguments, raw, content_type):
        message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"name": name, "arguments": arguments}}
        body = raw if raw is not None else json.dumps(message).encode()
        response = http.post("/mcp", content=body, headers=headers | {"Content-Type": content_type})
        _count("mcp")
        check_answer(
            response.status_code, response.headers.get("content-type", ""), response.content, "mcp", envelope=False
        )
        answer = json.loads(response.content)
        assert isinstance(answer, dict) and ("status" in answer or "jsonrpc" in answer), answer  # envelope or JSON-RPC

    try:
        exercise()
    finally:
        http.close()


def test_the_websocket_handshake_answers_every_generated_attempt(gateway, calls, agent):
    @_settings(200)
    @given(
        call=st.sampled_from([calls["verified"], calls["unverified"], "not-a-uuid", "²", "%00", "..", ""])
        | st.text(alphabet=string.ascii_letters + string.digits + "-", max_size=40),
        prefix=st.sampled_from(["/ws/calls/", "/ws/calls/", "/ws/", "/ws/other/", "/"]),
        query=st.sampled_from(
            ["", f"key={agent.api_key}", "key=vgw_x_y", "ticket=abc", "ticket=", "key=²&ticket=²", "a" * 3000]
        ),
        header=st.sampled_from([None, f"Api-Key {agent.api_key}", "Api-Key", "Bearer x", "Api-Key ²"]),
    )
    def exercise(call, prefix, query, header):
        url = f"{gateway.ws_url}{prefix}{call}/" + (f"?{query}" if query else "")
        headers = {"Authorization": header} if header else {}
        _count("websocket")
        try:
            with connect(url, open_timeout=5, additional_headers=headers):
                return  # accepted: the owner's key
        except InvalidStatus as refused:
            answer = refused.response
            content_type = dict((k.lower(), v) for k, v in answer.headers.raw_items()).get("content-type", "")
            check_answer(answer.status_code, content_type, answer.body or b"", url)
        except InvalidHandshake as failed:  # a URL the client itself refuses to send (not the server's answer)
            assert "URI" in type(failed).__name__ or "uri" in str(failed).lower(), failed

    exercise()


def test_the_fuzz_ran_at_least_two_thousand_cases():
    """Runs last in this module: the count of everything above (printed for the CI log)."""
    total = sum(SENT.values())
    print(f"fuzz: {total} cases: {SENT}")
    if len(SENT) < 5:
        pytest.skip("run with the whole module to count its cases")
    assert total >= 2000, SENT
