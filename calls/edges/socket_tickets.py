"""`POST /api/v1/calls/{call_id}/ws-ticket`: a single-use ticket for the call's WebSocket.

The ticket itself: calls/session/socket_tickets.py.
"""

from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges import schema
from calls.session import socket_tickets
from calls.session.selectors import call_for_client

TicketEnvelope = inline_serializer(
    "WsTicketEnvelope",
    {
        "status": serializers.ChoiceField(choices=["ok"]),
        "data": inline_serializer(
            "WsTicket",
            {
                "ticket": serializers.CharField(help_text="present once as `?ticket=` on /ws/calls/{call_id}/"),
                "expires_in": serializers.IntegerField(help_text="seconds"),
            },
        ),
    },
)


class SocketTicketView(APIView):
    @extend_schema(
        request=None,
        responses={
            201: OpenApiResponse(TicketEnvelope, description="a ticket for one WebSocket connection"),
            401: schema.ERROR_401,
            404: schema.ERROR_404,
        },
        summary="A single-use ticket for the call's WebSocket (the key stays out of the URL)",
    )
    def post(self, request: Request, call_id: UUID) -> Response:
        call = call_for_client(client=request.user, call_id=call_id)
        ticket = socket_tickets.issue(client=request.user, call_id=call.pk)
        data = {"ticket": ticket, "expires_in": socket_tickets.TICKET_TTL_S}
        return Response({"status": "ok", "data": data}, status=201, headers={"Cache-Control": "no-store"})
