"""The agent-facing REST API (docs/agent-api.md; OpenAPI at /api/docs). Views validate, call one service, render."""

from collections.abc import Iterable, Mapping
from uuid import UUID

from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges import schema
from calls.edges.context import rest_context
from calls.edges.envelope import render
from calls.edges.idempotency import idempotent
from calls.edges.manifests import FORMATS, manifest
from calls.registry import run
from calls.registry.definitions import OPEN_CALL_VALIDATOR, ToolDefinition
from calls.session import call_sessions
from calls.session.selectors import call_for_client, health_system_for_client
from calls.verification import status


class CallsView(APIView):
    @schema.idempotent_post(OPEN_CALL_VALIDATOR, schema.OPEN_RESPONSES, "Open a call")
    @idempotent
    def post(self, request: Request) -> Response:
        call = run.open_call(client=request.user, arguments=request.data)
        return Response({"status": "ok", "data": status.describe(call)}, status=201)


class CallDetailView(APIView):
    @extend_schema(responses=schema.DETAIL_RESPONSES, summary="The call's state (never PHI)")
    def get(self, request: Request, call_id: UUID) -> Response:
        call = call_for_client(client=request.user, call_id=call_id)
        call_sessions.note_activity(call)
        return Response({"status": "ok", "data": status.describe(call)})


class ToolView(APIView):
    """One tool's endpoint: GET reads its inputs from the query string, POST from the JSON body."""

    tool: ToolDefinition

    def get(self, request: Request, call_id: UUID) -> Response:
        return self._answer(request, call_id, request.query_params, strict=False)

    def post(self, request: Request, call_id: UUID) -> Response:
        return self._answer(request, call_id, request.data, strict=True, query=request.query_params)

    def _answer(
        self, request: Request, call_id: UUID, raw: Mapping, *, strict: bool, query: Mapping | None = None
    ) -> Response:
        context = rest_context(request)
        result = run.answer_for_client(
            self.tool, client=request.user, call_id=call_id, raw=raw, context=context, strict=strict, query=query
        )
        return render(result)


def tool_view(tool: ToolDefinition) -> type[ToolView]:
    """The endpoint of one tool, with its OpenAPI description, from its definition."""
    method = tool.method.lower()
    view = type(
        f"{tool.name.title().replace('_', '')}View",
        (ToolView,),
        {"tool": tool, "http_method_names": [method, "options"]},
    )
    if tool.idempotent:
        setattr(view, method, idempotent(getattr(view, method)))
    if tool.method == "POST":  # identifiers travel in bodies: never in Django's error reports
        view = method_decorator(sensitive_post_parameters(), name="dispatch")(view)
    return extend_schema_view(**{method: extend_schema(**schema.describe(tool))})(view)


def tool_paths(tools: Iterable[ToolDefinition]) -> list[URLPattern]:
    """One URL per tool, under its call."""
    return [
        path(f"api/v1/calls/<uuid:call_id>/{tool.name}", tool_view(tool).as_view(), name=f"call-{tool.name}")
        for tool in tools
    ]


class ToolsQuery(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=list(FORMATS),
        required=False,
        default="openai",
        error_messages={"invalid_choice": f"must be one of {', '.join(FORMATS)}"},
    )
    health_system = serializers.SlugField(required=False)


class ToolsManifestView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), description="default openai"),
            OpenApiParameter("health_system", str, description="slug for the vapi/retell webhook URLs"),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.ANY, description="the tool definitions in that format"),
            400: schema.ERROR_400,
            401: schema.ERROR_401,
            404: schema.ERROR_404,
        },
        summary="Tool definitions for LLM function calling",
    )
    def get(self, request: Request) -> Response:
        query = ToolsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        format_name, slug = query.validated_data["format"], query.validated_data.get("health_system")
        if slug:
            slug = health_system_for_client(client=request.user, slug=slug).slug
        else:
            allowed = list(request.user.health_systems.values_list("slug", flat=True)[:2])
            slug = allowed[0] if len(allowed) == 1 else None
        base_url = request.build_absolute_uri("/").rstrip("/")
        return Response(manifest(format_name, base_url=base_url, health_system=slug))
