from django.urls import path

from ehr_integrations import views

urlpatterns: list = [
    path("jwks/<slug:slug>.json", views.jwks, name="jwks"),
]
