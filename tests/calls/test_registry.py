"""One definition per tool: a tool declared once is served over REST, described in OpenAPI, listed in
every manifest format and over MCP, and validated the same way on every edge."""

import asyncio
import types

import pytest
from django.urls import clear_url_caches

from calls.edges import mcp_server
from calls.edges.manifests import FORMATS
from calls.edges.views import tool_paths
from calls.outcomes import Data
from calls.registry import definitions, run
from calls.registry.definitions import ToolDefinition
from calls.registry.inputs import Input
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client
from tests.calls.conftest import open_call

pytestmark = pytest.mark.django_db
DAYS = ("monday", "tuesday", "wednesday")


def _hours(call, values, context) -> Data:
    return Data(data={"day": values["day"], "weeks": values["weeks"]}, source="live", say="We open at nine.")


CLINIC_HOURS = ToolDefinition(
    name="clinic_hours",
    function="get_clinic_hours",
    summary="When the clinic is open",
    description="When the clinic is open on a day.",
    inputs=(
        Input("day", "choice", "which day", required=True, choices=DAYS),
        Input("weeks", "integer", "how many weeks ahead", default=1, minimum=1, maximum=4),
    ),
    method="GET",
    answers="transfer",
    service=_hours,
)


@pytest.fixture
def registered(monkeypatch, settings):
    """The tool added to the registry, and a URLconf derived from it as calls/urls.py derives its own."""
    monkeypatch.setattr(definitions, "TOOLS", (*definitions.TOOLS, CLINIC_HOURS))
    monkeypatch.setitem(definitions.BY_FUNCTION, CLINIC_HOURS.function, CLINIC_HOURS)
    from calls import urls

    urlconf = types.ModuleType("registry_test_urls")
    urlconf.urlpatterns = [*urls.urlpatterns, *tool_paths([CLINIC_HOURS])]
    settings.ROOT_URLCONF = urlconf
    clear_url_caches()
    yield CLINIC_HOURS
    clear_url_caches()


def test_a_tool_defined_once_is_served_over_rest(api, registered):
    call_id = open_call(api)
    response = api.get(f"/api/v1/calls/{call_id}/clinic_hours?day=tuesday&weeks=2")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "data": {"day": "tuesday", "weeks": 2}, "source": "live",
                               "say": "We open at nine."}  # fmt: skip


def test_a_tool_defined_once_is_described_in_the_openapi_schema(api, registered):
    schema = api.get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/calls/{call_id}/clinic_hours"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["day"]["schema"]["enum"] == list(DAYS)
    assert operation["summary"] == "When the clinic is open"


def test_a_tool_defined_once_is_listed_in_every_manifest_format_and_over_mcp(api, registered):
    for format_name in FORMATS:
        response = api.get(f"/api/v1/tools?format={format_name}")
        assert response.status_code == 200
        assert "get_clinic_hours" in response.content.decode(), format_name
    listed = asyncio.run(mcp_server._list_tools(None, None))
    tool = next(t for t in listed.tools if t.name == "get_clinic_hours")
    assert tool.input_schema["properties"]["day"]["enum"] == list(DAYS)
    assert tool.input_schema["required"] == ["call_id", "day"]


@pytest.mark.parametrize(
    "arguments",
    [{"day": "funday"}, {"day": "monday", "weeks": 9}, {"day": "monday", "weeks": "²"}, {}],
)
def test_the_same_validation_answers_on_every_edge(api, agent, registered, arguments):
    call_id = open_call(api)
    query = "&".join(f"{key}={value}" for key, value in arguments.items())
    rest = api.get(f"/api/v1/calls/{call_id}/clinic_hours?{query}")
    call = call_for_client(client=agent, call_id=call_id)
    context = AuditContext.of(channel="mcp")
    function_call = run.run_function(function="get_clinic_hours", call=call, arguments=arguments, context=context)
    assert rest.status_code == function_call[0] == 400
    assert rest.json() == function_call[1]
    assert rest.json()["status"] == "error" and set(rest.json()["errors"]) <= {"day", "weeks"}


def test_function_arguments_refuse_unknown_fields_by_name(api, agent, registered):
    call = call_for_client(client=agent, call_id=open_call(api))
    context = AuditContext.of(channel="vapi")
    answer = run.run_function(
        function="get_clinic_hours", call=call, arguments={"day": "monday", "x": 1}, context=context
    )
    assert answer == (400, {"status": "error", "errors": {"x": "unknown field"}})
