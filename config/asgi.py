"""ASGI entry point: HTTP through Django, WebSocket through Channels."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from calls.edges.mcp_server import McpMount  # noqa: E402  (needs the app registry)
from calls.routing import websocket_urlpatterns  # noqa: E402
from config.gc_freeze import freeze_loaded_objects  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": McpMount(django_asgi_app),  # /mcp: the MCP SDK; everything else: Django
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
freeze_loaded_objects()  # config/gc_freeze.py: the loaded application is never garbage
