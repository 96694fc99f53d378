from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from calls.edges import views
from calls.edges.webhooks.views import WebhookView

urlpatterns = [
    path("api/v1/calls", views.CallsView.as_view(), name="calls"),
    path("api/v1/calls/<uuid:call_id>", views.CallDetailView.as_view(), name="call-detail"),
    path("api/v1/calls/<uuid:call_id>/verify", views.VerifyView.as_view(), name="call-verify"),
    path("api/v1/calls/<uuid:call_id>/appointments", views.AppointmentsView.as_view(), name="call-appointments"),
    path("api/v1/calls/<uuid:call_id>/medications", views.MedicationsView.as_view(), name="call-medications"),
    path("api/v1/calls/<uuid:call_id>/messages", views.MessagesView.as_view(), name="call-messages"),
    path("api/v1/calls/<uuid:call_id>/patient", views.PatientView.as_view(), name="call-patient"),
    path("api/v1/calls/<uuid:call_id>/transfer", views.TransferView.as_view(), name="call-transfer"),
    path("api/v1/calls/<uuid:call_id>/end", views.EndView.as_view(), name="call-end"),
    path("api/v1/tools", views.ToolsManifestView.as_view(), name="tools"),
    path("api/v1/webhooks/vapi/<slug:health_system>", WebhookView.as_view(platform="vapi"), name="webhook-vapi"),
    path("api/v1/webhooks/retell/<slug:health_system>", WebhookView.as_view(platform="retell"), name="webhook-retell"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
