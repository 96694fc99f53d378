"""The go-live checklist in the health systems admin: status columns in the list, the checklist on
the change page, and "Reset breakers" (a button there, an action in the list).

Thin shells over setup/go_live.py.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ehr_integrations.models import HealthSystem
from ehr_integrations.setup import go_live

BADGES = {go_live.OK: ("OK", "ok"), go_live.WARN: ("Check", "warn"), go_live.FAIL: ("Missing", "fail")}
COLUMNS = {
    "baa": "BAA",
    "signing_key": "Signing key",
    "connection_test": "Last test",
    "scopes": "Scopes",
    "breakers": "Breakers",
    "policy": "Policy",
}


def _items(obj: HealthSystem) -> dict[str, go_live.Item]:
    # Cached on the row's instance: six columns, one checklist (the list needs no absolute JWKS URL).
    if not hasattr(obj, "_go_live_items"):
        items = go_live.checklist(obj, jwks_url="the JWKS URL", today=timezone.localdate())
        obj._go_live_items = {item.key: item for item in items}
    return obj._go_live_items


def _badge(item: go_live.Item) -> str:
    text, css = BADGES[item.state]
    return format_html(
        '<span class="go-live-badge go-live-{}" data-item="{}" data-state="{}" title="{}">{}</span>',
        css,
        item.key,
        item.state,
        item.detail,
        text,
    )


def _status_column(key: str) -> object:
    def column(self: admin.ModelAdmin, obj: HealthSystem) -> str:
        return _badge(_items(obj)[key])

    column.__name__ = f"{key}_status"
    return admin.display(description=COLUMNS[key])(column)


@admin.action(description="Reset circuit breakers (after the EHR is fixed)", permissions=["change"])
def reset_breakers(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[HealthSystem]) -> None:
    for system in queryset:
        _reset_and_report(modeladmin, request, system)


def _reset_and_report(modeladmin: admin.ModelAdmin, request: HttpRequest, system: HealthSystem) -> None:
    try:
        closed = go_live.reset_breakers(system, by=request.user.get_username())
    except go_live.UNREADABLE as exc:
        modeladmin.message_user(request, f"{system.slug}: breakers unreadable ({type(exc).__name__}).", messages.ERROR)
        return
    done = f"closed {', '.join(closed)}" if closed else "every breaker was already closed"
    modeladmin.message_user(request, f"{system.slug}: {done}.", messages.SUCCESS)


class GoLiveAdminMixin:
    """For HealthSystemAdmin: the checklist's columns, its panel and the reset button."""

    baa_status = _status_column("baa")
    signing_key_status = _status_column("signing_key")
    connection_test_status = _status_column("connection_test")
    scopes_status = _status_column("scopes")
    breakers_status = _status_column("breakers")
    policy_status = _status_column("policy")
    go_live_columns = [f"{key}_status" for key in COLUMNS]
    change_form_outer_before_template = "admin/ehr_integrations/healthsystem/go_live.html"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        view = self.admin_site.admin_view(require_POST(self.reset_breakers_view))
        name = "ehr_integrations_healthsystem_reset_breakers"
        return [path("<path:object_id>/reset-breakers/", view, name=name)] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        system = HealthSystem.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if system is not None:
            jwks_url = request.build_absolute_uri(reverse("jwks", args=[system.slug]))
            extra_context = {
                **(extra_context or {}),
                "go_live": go_live.checklist(system, jwks_url=jwks_url, today=timezone.localdate()),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def reset_breakers_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        system = get_object_or_404(HealthSystem, pk=object_id)
        if not self.has_change_permission(request, system):
            raise PermissionDenied
        _reset_and_report(self, request, system)
        return HttpResponseRedirect(reverse("admin:ehr_integrations_healthsystem_change", args=[system.pk]))
