"""The agent-facing REST API (see /docs and shared/agent-api.md). Views validate, call one service, render."""

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import call_sessions, pending, tools, transfers, verification
from calls.baa_gate import ensure_covered
from calls.envelope import render
from calls.selectors import call_for_client, health_system_for_client
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


class EndInput(StrictSerializer):
    reason = serializers.CharField(required=False, max_length=64, default="agent_ended")


class CallView(APIView):
    def call(self, request, call_id):
        call = call_for_client(client=request.user, call_id=call_id)
        call_sessions.note_activity(call)
        return call


class CallsView(APIView):
    def post(self, request):
        data = OpenCallInput(data=request.data)
        data.is_valid(raise_exception=True)
        system = health_system_for_client(client=request.user, slug=data.validated_data["health_system"])
        ensure_covered(client=request.user, health_system=system)
        call = call_sessions.open_call(
            client=request.user,
            health_system=system,
            caller_phone=data.validated_data.get("caller_phone"),
            external_id=data.validated_data["external_id"],
        )
        return Response({"status": "ok", "data": call_sessions.describe(call)}, status=201)


class CallDetailView(CallView):
    def get(self, request, call_id):
        return Response({"status": "ok", "data": call_sessions.describe(self.call(request, call_id))})


@method_decorator(sensitive_post_parameters(), name="dispatch")
class VerifyView(CallView):
    def post(self, request, call_id):
        call = self.call(request, call_id)
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        return render(verification.submit(call=call, identifiers=data.validated_data, request=request))


class ToolView(CallView):
    tool = ""

    def get(self, request, call_id):
        call = self.call(request, call_id)
        query = request.query_params
        if pending.requested(query):
            return render(pending.answer(call=call, tool=self.tool, query=query, request=request))
        return render(tools.answer(call=call, tool=self.tool, query=query, request=request))


class TransferView(CallView):
    def get(self, request, call_id):
        call = self.call(request, call_id)
        purpose = request.query_params.get("purpose", Purpose.GENERAL)
        if purpose not in Purpose.values:
            raise serializers.ValidationError({"purpose": f"must be one of {', '.join(Purpose.values)}"})
        return render(transfers.routed(health_system=call.health_system, purpose=purpose))


class EndView(CallView):
    def post(self, request, call_id):
        call = call_for_client(client=request.user, call_id=call_id)
        data = EndInput(data=request.data)
        data.is_valid(raise_exception=True)
        call_sessions.end_call(call=call, reason=data.validated_data["reason"])
        return Response({"status": "ended"})
