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
    """The endpoint of a path's tools (one per method): GET reads its inputs from the query string, POST
    from the JSON body; a value in the path (an appointment's handle) is one of the inputs too."""

    tools: Mapping[str, ToolDefinition]  # by HTTP method

    def get(self, request: Request, call_id: UUID, **in_path: str) -> Response:
        return self._answer(request, call_id, _with(request.query_params, in_path), strict=False)

    def post(self, request: Request, call_id: UUID, **in_path: str) -> Response:
        raw = _with(request.data, in_path)
        return self._answer(request, call_id, raw, strict=True, query=request.query_params)

    def _answer(
        self, request: Request, call_id: UUID, raw: object, *, strict: bool, query: Mapping | None = None
    ) -> Response:
        context = rest_context(request)
        tool = self.tools[request.method]
        result = run.answer_for_client(
            tool, client=request.user, call_id=call_id, raw=raw, context=context, strict=strict, query=query
        )
        return render(result)


def _with(raw: object, in_path: Mapping[str, str]) -> object:
    if not in_path or not isinstance(raw, Mapping):
        return raw
    return {**{k: raw[k] for k in raw}, **in_path}


def tool_view(tools: list[ToolDefinition]) -> type[ToolView]:
    """The endpoint of the tools of one path (one per method), with their OpenAPI description."""
    methods = [tool.method.lower() for tool in tools]
    view = type(
        f"{tools[0].name.title().replace('_', '').replace('-', '')}View",
        (ToolView,),
        {"tools": {tool.method: tool for tool in tools}, "http_method_names": [*methods, "options"]},
    )
    for tool, method in zip(tools, methods, strict=True):
        if tool.idempotent:
            setattr(view, method, idempotent(getattr(view, method)))
    if "post" in methods:  # identifiers travel in bodies: never in Django's error reports
        view = method_decorator(sensitive_post_parameters(), name="dispatch")(view)
    described = {method: extend_schema(**schema.describe(tool)) for tool, method in zip(tools, methods, strict=True)}
    return extend_schema_view(**described)(view)


def tool_paths(tools: Iterable[ToolDefinition]) -> list[URLPattern]:
    """One URL per tool path, under its call (a read and a write may share one: GET and POST appointments)."""
    by_path: dict[str, list[ToolDefinition]] = {}
    for tool in tools:
        by_path.setdefault(tool.rest_path, []).append(tool)
    return [
        path(f"api/v1/calls/<uuid:call_id>/{rest_path}", tool_view(group).as_view(), name=f"call-{group[0].name}")
        for rest_path, group in by_path.items()
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
