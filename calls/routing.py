"""WebSocket routes (Channels)."""

from django.urls import path, re_path

from calls.edges.consumers import CallEventsConsumer, UnknownSocketConsumer

websocket_urlpatterns: list = [
    # Any call id reaches the consumer, which answers a malformed one as not found (no router error).
    path("ws/calls/<str:call_id>/", CallEventsConsumer.as_asgi()),
    re_path(r"", UnknownSocketConsumer.as_asgi()),
]
