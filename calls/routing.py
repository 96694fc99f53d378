"""WebSocket routes (Channels)."""

from django.urls import path

from calls.edges.consumers import CallEventsConsumer

websocket_urlpatterns: list = [
    path("ws/calls/<uuid:call_id>/", CallEventsConsumer.as_asgi()),
]
