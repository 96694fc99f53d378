from django.contrib import admin
from django.urls import include, path

from config import dashboard, health, landing, third_party_admin  # noqa: F401  (themes other apps' admin screens)

# JSON envelopes instead of Django's HTML pages, except under /admin/ (config/errors.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(
        "admin/dashboard/",
        admin.site.admin_view(lambda request: dashboard.compliance_dashboard(request, site=admin.site)),
        name="compliance_dashboard",
    ),
    path("admin/", admin.site.urls),
    path("", include("ehr_integrations.urls")),
    path("", include("calls.urls")),
]
