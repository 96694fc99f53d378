"""The agent-facing REST API (see /docs and shared/agent-api.md). Views validate, call one service, render."""

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges import schema
from calls.edges.envelope import render
from calls.edges.idempotency import idempotent
from calls.edges.manifests import FORMATS, manifest
from calls.session import call_sessions, transfers
from calls.session.selectors import call_for_client, health_system_for_client
from calls.tools import answers as tools
from calls.tools import pending
from calls.tools.tool_specs import TOOLS
from calls.verification import turns as verification
from ehr_integrations.models import Purpose

E164 = r"^\+[1-9]\d{6,14}$"


class StrictSerializer(serializers.Serializer):
    """Unknown fields are an error naming the field, not silently dropped."""

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in sorted(unknown)})
        return attrs


class OpenCallInput(StrictSerializer):
    health_system = serializers.SlugField()
    caller_phone = serializers.RegexField(E164, required=False, error_messages={"invalid": "must be E.164"})
    external_id = serializers.CharField(required=False, max_length=200, default="")


class VerifyInput(StrictSerializer):
    date_of_birth = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    ssn_last4 = serializers.RegexField(r"^\d{4}$", required=False, error_messages={"invalid": "must be 4 digits"})
    mrn = serializers.CharField(required=False, max_length=64, trim_whitespace=True)
    phone = serializers.CharField(required=False, max_length=32)
    family_name = serializers.CharField(required=False, max_length=100)
    given_name = serializers.CharField(required=False, max_length=100)


class TransferInput(StrictSerializer):
    purpose = serializers.ChoiceField(choices=Purpose.values, required=False, default=Purpose.GENERAL)


class EndInput(StrictSerializer):
    reason = serializers.CharField(required=False, max_length=64, default="agent_ended")


class CallView(APIView):
    def call(self, request, call_id):
        call = call_for_client(client=request.user, call_id=call_id)
        call_sessions.note_activity(call)
        return call


class CallsView(APIView):
    @schema.idempotent_post(OpenCallInput, schema.OPEN_RESPONSES, "Open a call")
    @idempotent
    def post(self, request):
        data = OpenCallInput(data=request.data)
        data.is_valid(raise_exception=True)
        call = call_sessions.open_for_client(
            client=request.user,
            slug=data.validated_data["health_system"],
            caller_phone=data.validated_data.get("caller_phone"),
            external_id=data.validated_data["external_id"],
        )
        return Response({"status": "ok", "data": call_sessions.describe(call)}, status=201)


class CallDetailView(CallView):
    @extend_schema(responses=schema.DETAIL_RESPONSES, summary="The call's state (never PHI)")
    def get(self, request, call_id):
        return Response({"status": "ok", "data": call_sessions.describe(self.call(request, call_id))})


@method_decorator(sensitive_post_parameters(), name="dispatch")
class VerifyView(CallView):
    @schema.idempotent_post(VerifyInput, schema.VERIFY_RESPONSES, "Verify the caller (one turn)")
    @idempotent
    def post(self, request, call_id):
        call = self.call(request, call_id)
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        return render(verification.submit(call=call, identifiers=data.validated_data, request=request))


class ToolView(CallView):
    tool = ""

    def get(self, request, call_id):
        query = request.query_params
        read = tools.prepare_verified(client=request.user, call_id=call_id, tool=self.tool, query=query)
        call, prepared = read or (self.call(request, call_id), None)
        if pending.requested(query):
            return render(pending.answer(call=call, tool=self.tool, query=query, request=request, prepared=prepared))
        return render(tools.answer(call=call, tool=self.tool, query=query, request=request, prepared=prepared))


def _tool_view(tool: str) -> type[ToolView]:
    """The endpoint of one PHI tool, with its own OpenAPI description."""
    described = extend_schema(
        parameters=schema.TOOL_PARAMETERS[tool],
        responses=schema.tool_responses(schema.TOOL_OK[tool]),
        summary=TOOLS[tool].description,
    )
    return extend_schema_view(get=described)(type(f"{tool.title()}View", (ToolView,), {"tool": tool}))


AppointmentsView = _tool_view("appointments")
MedicationsView = _tool_view("medications")
MessagesView = _tool_view("messages")
PatientView = _tool_view("patient")


class TransferView(CallView):
    @extend_schema(
        parameters=schema.TRANSFER_PARAMETERS, responses=schema.TRANSFER_RESPONSES, summary="Who to hand the caller to"
    )
    def get(self, request, call_id):
        call = self.call(request, call_id)
        purpose = request.query_params.get("purpose", Purpose.GENERAL)
        if purpose not in Purpose.values:
            raise serializers.ValidationError({"purpose": f"must be one of {', '.join(Purpose.values)}"})
        return render(transfers.routed(health_system=call.health_system, purpose=purpose))


class EndView(CallView):
    @schema.idempotent_post(EndInput, schema.END_RESPONSES, "End the call and purge its PHI")
    @idempotent
    def post(self, request, call_id):
        call = call_for_client(client=request.user, call_id=call_id)
        data = EndInput(data=request.data)
        data.is_valid(raise_exception=True)
        call_sessions.end_call(call=call, reason=data.validated_data["reason"])
        return Response({"status": "ended"})


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
    def get(self, request):
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
