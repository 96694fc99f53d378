from urllib.parse import urlsplit

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from ehr_integrations.admin.connectivity import (
    CONNECTIVITY_FIELDS,
    ConnectivityAdminMixin,
    rotate_keys,
    write_routes_table,
)
from ehr_integrations.admin.forms import EHRConnectionForm, HealthSystemForm, TransferTargetForm, VerificationPolicyForm
from ehr_integrations.admin.go_live import GoLiveAdminMixin, reset_breakers
from ehr_integrations.admin.mapping import MappingRuleForm  # also registers MappingRuleAdmin
from ehr_integrations.admin.preset_add import PresetAddAdminMixin
from ehr_integrations.admin.scheduling import SchedulingRulesAdmin  # noqa: F401  (registers it)
from ehr_integrations.models import (
    EHRConnection,
    HealthSystem,
    MappingRule,
    SigningKey,
    TransferTarget,
    VerificationPolicy,
)


class EHRConnectionInline(StackedInline):
    model = EHRConnection
    form = EHRConnectionForm
    can_delete = False
    readonly_fields = ["secret_stored", "discovered_at"]

    @admin.display(boolean=True, description="Client secret stored")
    def secret_stored(self, obj: EHRConnection | None) -> bool:
        return bool(obj and obj.has_client_secret)


class VerificationPolicyInline(StackedInline):
    model = VerificationPolicy
    form = VerificationPolicyForm
    can_delete = False


class TransferTargetInline(TabularInline):
    model = TransferTarget
    form = TransferTargetForm
    extra = 0


class MappingRuleInline(TabularInline):
    model = MappingRule
    form = MappingRuleForm
    extra = 0


@admin.register(HealthSystem)
class HealthSystemAdmin(GoLiveAdminMixin, PresetAddAdminMixin, ModelAdmin):
    form = HealthSystemForm
    list_display = ["name", "ehr", *GoLiveAdminMixin.go_live_columns, "enabled"]
    list_filter = ["vendor", "enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    actions = [rotate_keys, reset_breakers]
    inlines = [EHRConnectionInline, VerificationPolicyInline, TransferTargetInline, MappingRuleInline]
    readonly_fields = ["where_writes_go"]

    @admin.display(description="Where writes go")
    def where_writes_go(self, obj: HealthSystem | None) -> str:
        return write_routes_table(obj if obj and obj.pk else None)

    @admin.display(description="EHR", ordering="vendor")
    def ehr(self, obj: HealthSystem) -> str:
        return format_html("{}<br><small>{}</small>", obj.get_vendor_display(), urlsplit(obj.fhir_base_url).netloc)


@admin.register(EHRConnection)
class EHRConnectionAdmin(ConnectivityAdminMixin, ModelAdmin):
    form = EHRConnectionForm
    list_display = ["health_system", "auth_method", "client_id", "signing_algorithm"]
    readonly_fields = ["discovered_at", *CONNECTIVITY_FIELDS]
    actions = [rotate_keys]


@admin.register(SigningKey)
class SigningKeyAdmin(ModelAdmin):
    list_display = ["kid", "health_system", "algorithm", "status", "created_at", "activate_after", "retired_at"]
    list_filter = ["status", "health_system"]
    readonly_fields = [
        "health_system",
        "kid",
        "algorithm",
        "public_jwk",
        "status",
        "created_at",
        "activate_after",
        "activated_at",
        "retired_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


admin.site.register(VerificationPolicy, form=VerificationPolicyForm)
admin.site.register(TransferTarget, form=TransferTargetForm)
