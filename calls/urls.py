from django.urls import path

from calls import views

urlpatterns = [
    path("api/v1/calls", views.CallsView.as_view(), name="calls"),
    path("api/v1/calls/<uuid:call_id>", views.CallDetailView.as_view(), name="call-detail"),
    path("api/v1/calls/<uuid:call_id>/verify", views.VerifyView.as_view(), name="call-verify"),
    path(
        "api/v1/calls/<uuid:call_id>/appointments",
        views.ToolView.as_view(tool="appointments"),
        name="call-appointments",
    ),
    path(
        "api/v1/calls/<uuid:call_id>/medications", views.ToolView.as_view(tool="medications"), name="call-medications"
    ),
    path("api/v1/calls/<uuid:call_id>/messages", views.ToolView.as_view(tool="messages"), name="call-messages"),
    path("api/v1/calls/<uuid:call_id>/patient", views.ToolView.as_view(tool="patient"), name="call-patient"),
    path("api/v1/calls/<uuid:call_id>/transfer", views.TransferView.as_view(), name="call-transfer"),
    path("api/v1/calls/<uuid:call_id>/end", views.EndView.as_view(), name="call-end"),
]
