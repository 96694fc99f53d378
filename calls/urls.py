from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from calls.edges import views
from calls.edges.socket_tickets import SocketTicketView
from calls.edges.webhooks.views import WebhookView
from calls.registry.definitions import TOOLS

urlpatterns = [
    path("api/v1/calls", views.CallsView.as_view(), name="calls"),
    path("api/v1/calls/<uuid:call_id>", views.CallDetailView.as_view(), name="call-detail"),
    path("api/v1/calls/<uuid:call_id>/ws-ticket", SocketTicketView.as_view(), name="call-ws-ticket"),
    *views.tool_paths(TOOLS),
    path("api/v1/tools", views.ToolsManifestView.as_view(), name="tools"),
    path("api/v1/webhooks/vapi/<slug:health_system>", WebhookView.as_view(platform="vapi"), name="webhook-vapi"),
    path("api/v1/webhooks/retell/<slug:health_system>", WebhookView.as_view(platform="retell"), name="webhook-retell"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
