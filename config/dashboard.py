"""The compliance dashboard (/admin/dashboard/): the PHI access log's charts and unusual patterns,
BAAs expiring and coverage gaps. Composes audit/dashboard.py and compliance's selectors; reads only.
"""

import datetime
import json

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from unfold.sites import UnfoldAdminSite

from audit import dashboard
from audit.selectors import lockouts_since
from calls.models import AgentClient
from compliance.coverage import coverage_gaps
from compliance.selectors import expiry_dashboard
from ehr_integrations.models import HealthSystem

UNUSUAL_LOOKBACK = datetime.timedelta(days=7)
COLOURS = {
    "Answered": "#16a34a",
    "Refused": "#d97706",
    "Failed": "#dc2626",
    "Wrong details": "#d97706",
    "Locked": "#dc2626",
}
# Chart.js options (unfold's chart component replaces its defaults with these): stacked, with a legend.
CHART_OPTIONS = json.dumps(
    {
        "animation": False,
        "responsive": True,
        "maintainAspectRatio": False,
        "maxBarThickness": 28,
        "plugins": {"legend": {"display": True, "position": "top", "align": "end"}},
        "scales": {
            "x": {"stacked": True, "grid": {"display": False}},
            "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
        },
    }
)


def _chart(series: dashboard.Series) -> str:
    chart = series.chart()
    for dataset in chart["datasets"]:
        dataset["backgroundColor"] = COLOURS.get(dataset["label"], "#6b7280")
    return json.dumps(chart)


def agent_client_names() -> dict[str, str]:
    """The log keeps agent clients by id; people read names."""
    return {str(pk): name for pk, name in AgentClient.objects.values_list("pk", "name")}


def compliance_dashboard(request: HttpRequest, *, site: UnfoldAdminSite) -> TemplateResponse:
    if not request.user.has_perm("audit.view_auditrecord"):
        raise PermissionDenied
    now = timezone.now()
    today = now.astimezone(datetime.UTC).date()
    accesses = dashboard.accesses_per_day(today=today)
    verifications = dashboard.verification_failures_per_day(today=today)
    names = agent_client_names()
    systems = {slug: (name, zone) for slug, name, zone in HealthSystem.objects.values_list("slug", "name", "time_zone")}
    context = {
        **site.each_context(request),
        "title": "Compliance dashboard",
        "accesses_chart": _chart(accesses),
        "verifications_chart": _chart(verifications),
        "chart_options": CHART_OPTIONS,
        "accesses_today": sum(series[-1] for series in accesses.groups.values()),
        "lockouts": lockouts_since(now - datetime.timedelta(hours=24)),
        "busy_hours": [
            (names.get(b.agent_client, b.agent_client), b) for b in dashboard.busy_hours(since=now - UNUSUAL_LOOKBACK)
        ],
        "spikes": [
            (systems[s.health_system][0], s)
            for s in dashboard.after_hours_spikes(time_zones={k: v[1] for k, v in systems.items()}, now=now)
        ],
        "baas": expiry_dashboard(today=timezone.localdate()),
        "gaps": coverage_gaps(today=timezone.localdate()),
        "settings": {
            "patients_per_hour": settings.UNUSUAL_DISTINCT_PATIENTS_PER_HOUR,
            "factor": settings.UNUSUAL_AFTER_HOURS_FACTOR,
            "start": settings.UNUSUAL_AFTER_HOURS_START,
            "end": settings.UNUSUAL_AFTER_HOURS_END,
        },
    }
    return TemplateResponse(request, "admin/compliance_dashboard.html", context)
