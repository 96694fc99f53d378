"""The branded admin (django-unfold): its title, its sidebar and who sees which link.

Read by settings.py as UNFOLD. The sidebar names the two journeys (onboarding, compliance); every
model stays reachable through "All applications", each within the permissions Django already checks.
"""

from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse_lazy


def can_onboard(request: HttpRequest) -> bool:
    return request.user.has_perm("ehr_integrations.view_healthsystem")


def can_review_log(request: HttpRequest) -> bool:
    return request.user.has_perm("audit.view_auditrecord")


def can_review_baas(request: HttpRequest) -> bool:
    return request.user.has_perm("compliance.view_businessassociateagreement")


def is_superuser(request: HttpRequest) -> bool:
    return request.user.is_superuser


def _link(title: str, icon: str, url: str, permission: str) -> dict:
    return {"title": title, "icon": icon, "link": reverse_lazy(url), "permission": f"config.admin_theme.{permission}"}


UNFOLD = {
    "SITE_TITLE": "Voice EHR Gateway",
    "SITE_HEADER": "Voice EHR Gateway",
    "SITE_SUBHEADER": "Onboarding and compliance",
    "SITE_SYMBOL": "support_agent",
    "SITE_URL": "/",
    "SHOW_VIEW_ON_SITE": False,
    "STYLES": [lambda request: static("gateway/admin.css")],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": [
            {
                "title": "Onboarding",
                "items": [
                    _link(
                        "Health systems",
                        "local_hospital",
                        "admin:ehr_integrations_healthsystem_changelist",
                        "can_onboard",
                    ),
                    _link(
                        "Add from a vendor preset",
                        "add_circle",
                        "admin:ehr_integrations_healthsystem_preset",
                        "can_onboard",
                    ),
                    _link("EHR connections", "cable", "admin:ehr_integrations_ehrconnection_changelist", "can_onboard"),
                    _link("Agent clients", "smart_toy", "admin:calls_agentclient_changelist", "can_onboard"),
                ],
            },
            {
                "title": "Compliance",
                "items": [
                    _link("Dashboard", "monitoring", "compliance_dashboard", "can_review_log"),
                    _link("PHI access log", "receipt_long", "admin:audit_auditrecord_changelist", "can_review_log"),
                    _link(
                        "Patient access report",
                        "person_search",
                        "admin:audit_auditrecord_patient_report",
                        "can_review_log",
                    ),
                    _link(
                        "Business associate agreements",
                        "handshake",
                        "admin:compliance_businessassociateagreement_changelist",
                        "can_review_baas",
                    ),
                ],
            },
            {
                "title": "Operations",
                "items": [
                    _link(
                        "Scheduled tasks",
                        "schedule",
                        "admin:django_celery_beat_periodictask_changelist",
                        "is_superuser",
                    ),
                ],
            },
        ],
    },
}
