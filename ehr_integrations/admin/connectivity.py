"""Connectivity in the admin: "Test connection", "Rotate keys", discovery, scope warnings, breaker state,
the effective capabilities and where each comes from.

Thin shells over connection_check, signing_keys, scopes, breaker and capabilities. Nothing here
shows a secret, a token or a private key.
"""

import json
from datetime import UTC, datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.html import format_html, format_html_join

from compliance.encryption import SecretUnreadable
from ehr_integrations.auth import scopes, signing_keys, token_cache
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.fhir import capabilities, refusals, write_routes
from ehr_integrations.fhir.site import site_inputs
from ehr_integrations.models import EHRConnection, HealthSystem, KeyStatus
from ehr_integrations.scheduling import routes as scheduling_routes
from ehr_integrations.setup import connection_check
from ehr_integrations.transport import breaker, io_loop, shared_cache

ADMIN_READ_TIMEOUT_S = 2.0
CONNECTIVITY_FIELDS = [
    "test_connection_link",
    "jwks_url",
    "discovery_summary",
    "scope_warnings",
    "effective_capabilities",
    "write_routes",
    "signing_key_summary",
    "breaker_summary",
]


@admin.action(description="Rotate signing keys (publish now, sign after the grace period)", permissions=["change"])
def rotate_keys(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[HealthSystem] | QuerySet[EHRConnection]
) -> None:
    for obj in queryset:
        system = obj if isinstance(obj, HealthSystem) else obj.health_system
        key = signing_keys.start_rotation(system)
        when = f"{key.activate_after:%Y-%m-%d %H:%M %Z}"
        modeladmin.message_user(request, f"{system.slug}: published {key.kid}; it signs from {when}.", messages.SUCCESS)


def _jwks_path(system: HealthSystem) -> str:
    return reverse("jwks", args=[system.slug])


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else "-"


def write_routes_table(system: HealthSystem | None) -> str:
    """Each write tool's route (Task, Communication or the staff queue) and the claim that decided it:
    on the EHR connection's page and on the health system's (issue 21)."""
    if system is None:
        return "-"
    try:
        granted, _ = _grant_and_refusals(system)
    except (shared_cache.CacheUnavailable, EHRUnavailable, SecretUnreadable) as exc:
        return f"Shared state unreadable ({type(exc).__name__})."
    facts = site_inputs(system).facts
    stu3 = system.connection.scheduling_stu3_base_url
    rows = [*write_routes.route_rows(facts, granted), scheduling_routes.route_row(facts, granted, stu3)]
    return format_html(
        '<table id="write-routes"><thead><tr><th>Tool</th><th>Route</th><th>Why</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


class ConnectivityAdminMixin:
    """For EHRConnectionAdmin: read-only connectivity panels and the test-connection page."""

    def get_urls(self) -> list[URLPattern | URLResolver]:
        view = self.admin_site.admin_view
        name = "ehr_integrations_ehrconnection_test"
        return [
            path("<path:object_id>/test-connection/", view(self.test_connection_view), name=name)
        ] + super().get_urls()

    def test_connection_view(self, request: HttpRequest, object_id: str) -> TemplateResponse:
        connection = get_object_or_404(EHRConnection, pk=object_id)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            jwks_url = request.build_absolute_uri(_jwks_path(connection.health_system))
            report = connection_check.check_connection(connection.health_system, jwks_url=jwks_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": connection,
            "title": f"Test connection: {connection.health_system}",
            "report": report,
        }
        return TemplateResponse(request, "admin/ehr_integrations/ehrconnection/test_connection.html", context)

    @admin.display(description="Test connection")
    def test_connection_link(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.pk:
            return "Save first."
        url = reverse("admin:ehr_integrations_ehrconnection_test", args=[obj.pk])
        return format_html('<a class="button" href="{}">Test connection</a>', url)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> EHRConnection | None:
        connection = super().get_object(request, object_id, from_field)
        if connection is not None:  # the page shows the URL to register, which only the request knows
            connection.absolute_jwks_url = request.build_absolute_uri(_jwks_path(connection.health_system))
        return connection

    @admin.display(description="JWKS URL (register it with the EHR)")
    def jwks_url(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.pk:
            return "-"
        return getattr(obj, "absolute_jwks_url", None) or _jwks_path(obj.health_system)

    @admin.display(description="Discovered")
    def discovery_summary(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.discovery:
            return "Nothing discovered yet: run Test connection."
        return format_html("<pre>{}</pre>", json.dumps(obj.discovery, indent=2, sort_keys=True))

    @admin.display(description="Scope warnings")
    def scope_warnings(self, obj: EHRConnection | None) -> str:
        warnings = scopes.warnings(obj.scope_list()) if obj else []
        if not warnings:
            return "The scopes cover every tool."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in warnings)))

    @admin.display(description="Effective capabilities")
    def effective_capabilities(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.pk:
            return "-"
        try:
            granted, refused = _grant_and_refusals(obj.health_system)
        except (shared_cache.CacheUnavailable, EHRUnavailable, SecretUnreadable) as exc:
            return f"Shared state unreadable ({type(exc).__name__})."
        caps = capabilities.effective(site_inputs(obj.health_system), granted, refused)
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", caps.rows())
        checked = (
            f"CapabilityStatement read {obj.capabilities_checked_at:%Y-%m-%d %H:%M %Z}"
            if obj.capabilities_checked_at
            else "CapabilityStatement not read yet: run Test connection (what the server does is unknown until then)"
        )
        grant = "the cached token's scopes" if granted is not None else "no cached token: nothing withheld by a grant"
        return format_html(
            '<table id="effective-capabilities"><thead><tr><th>Capability</th><th>Value</th><th>Source</th></tr>'
            "</thead><tbody>{}</tbody></table><p>{}; grant: {}. Sources: preset, server, grant, answer (a refusal "
            "remembered for an hour), override.</p>",
            rows,
            checked,
            grant,
        )

    @admin.display(description="Where writes go")
    def write_routes(self, obj: EHRConnection | None) -> str:
        return write_routes_table(obj.health_system if obj and obj.pk else None)

    @admin.display(description="Signing keys")
    def signing_key_summary(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.pk:
            return "-"
        keys = obj.health_system.signing_keys.exclude(status=KeyStatus.RETIRED).order_by("-created_at")
        if not keys:
            return "No key yet: one is made on first use or by Rotate keys."
        rows = ((k.kid, k.algorithm, k.get_status_display(), f"{k.activate_after:%Y-%m-%d %H:%M}") for k in keys)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} {}: {} (signs from {})</li>", rows))

    @admin.display(description="Circuit breakers and token")
    def breaker_summary(self, obj: EHRConnection | None) -> str:
        if not obj or not obj.pk:
            return "-"
        try:
            deadline = io_loop.deadline_in(ADMIN_READ_TIMEOUT_S)
            views, transitions = io_loop.wait(breaker.snapshot(obj.health_system_id), deadline=deadline)
            token = io_loop.wait(token_cache.peek(connection_config(obj.health_system)), deadline=deadline)
        except (shared_cache.CacheUnavailable, EHRUnavailable, SecretUnreadable) as exc:
            return f"Shared state unreadable ({type(exc).__name__})."
        states = format_html_join(
            "", "<li>{}: <strong>{}</strong> since {}</li>", ((v.endpoint, v.state, _when(v.since)) for v in views)
        )
        recent = format_html_join(
            "", "<li>{} {} -> {} ({})</li>", ((_when(t["at"]), t["endpoint"], t["to"], t["why"]) for t in transitions)
        )
        token_line = f"cached token expires {_when(token.expires_at)}" if token else "no cached token"
        return format_html(
            "<p>All endpoints closed unless listed.</p><ul>{}</ul><p>Recent transitions:</p><ul>{}</ul><p>{}</p>"
            '<p><a href="{}#go-live-checklist">Reset breakers</a> on the health system\'s go-live checklist.</p>',
            states,
            recent or format_html("<li>{}</li>", "none"),
            token_line,
            reverse("admin:ehr_integrations_healthsystem_change", args=[obj.health_system_id]),
        )


def _grant_and_refusals(system: HealthSystem) -> tuple[tuple[str, ...] | None, frozenset[str]]:
    """What the cached token granted (None without one) and the refusals remembered now."""
    config = connection_config(system)
    deadline = io_loop.deadline_in(ADMIN_READ_TIMEOUT_S)
    token = io_loop.wait(token_cache.peek(config), deadline=deadline)
    refused = io_loop.wait(refusals.refused(config, deadline=deadline), deadline=deadline)
    return (tuple(token.scope.split()) if token else None), refused
