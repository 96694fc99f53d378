"""The webhook endpoints: one view, one adapter module per platform (calls/edges/webhooks/<platform>.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges.context import rest_context
from calls.edges.webhooks import common, retell, vapi

ADAPTERS = {"vapi": vapi, "retell": retell}


@extend_schema(exclude=True)  # platform-facing; documented in calls/edges/webhooks/<platform>.py
class WebhookView(APIView):
    platform = ""

    def post(self, request: Request, health_system: str) -> Response:
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
        return Response(adapter.reply(common.run_all(call, tool_calls, rest_context(request, channel=self.platform))))
