"""The webhook endpoints: one view, one adapter module per platform (calls/edges/webhooks/<platform>.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges.tool_calls import ToolRequest
from calls.edges.webhooks import common, retell, vapi
from calls.session.access_log import correlation_id

ADAPTERS = {"vapi": vapi, "retell": retell}


@extend_schema(exclude=True)  # platform-facing; documented in calls/edges/webhooks/<platform>.py
class WebhookView(APIView):
    platform = ""

    def post(self, request, health_system: str):
        adapter = ADAPTERS[self.platform]
        adapter.check(request)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"body": "must be a JSON object"})
        try:
            external_id, caller, tool_calls = adapter.parse(request.data)
        except ValueError:
            raise exceptions.ValidationError({"arguments": "must be a JSON object"}) from None
        call = common.platform_call(
            client=request.user,
            slug=health_system,
            platform=self.platform,
            external_id=external_id,
            caller_phone=caller,
        )
        audit_request = ToolRequest.of(correlation_id=correlation_id(request), address=request.META.get("REMOTE_ADDR"))
        return Response(adapter.reply(common.run_all(call, tool_calls, audit_request)))
