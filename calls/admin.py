from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from unfold.admin import ModelAdmin, TabularInline

from audit.errors import AuditUnavailable
from audit.staff_access import StaffAccess
from calls.edges.api_keys import issue_key
from calls.models import AgentClient, ApiKey, CallSession, FollowUp, StaffRequest, WebhookSecret
from compliance import encryption


class WebhookSecretForm(forms.ModelForm):
    """Write-only: the secret is encrypted on save and never shown again."""

    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The signing secret from the platform's dashboard. Leave blank to keep the stored one.",
    )

    class Meta:
        model = WebhookSecret
        fields = ["platform"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("secret") and cleaned.get("platform"):
            self.add_error("secret", "required for a new webhook secret")
        return cleaned

    def save(self, commit: bool = True) -> WebhookSecret:
        stored = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            stored.secret_encrypted = encryption.encrypt(self.cleaned_data["secret"])
        if commit:
            stored.save()
        return stored


class WebhookSecretInline(TabularInline):
    model = WebhookSecret
    form = WebhookSecretForm
    extra = 0
    fields = ["platform", "secret", "created_at"]
    readonly_fields = ["created_at"]


class ApiKeyInline(TabularInline):
    model = ApiKey
    extra = 0
    fields = ["prefix", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AgentClient)
class AgentClientAdmin(ModelAdmin):
    list_display = ["name", "business_associate", "enabled", "created_at"]
    filter_horizontal = ["health_systems"]
    inlines = [ApiKeyInline, WebhookSecretInline]
    actions = ["issue_api_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[AgentClient]) -> None:
        for client in queryset:
            key = issue_key(agent_client=client, label=f"admin:{request.user.get_username()}")
            self.message_user(request, f"New key for {client}: {key} (copy it now; it is not stored)", messages.WARNING)


@admin.register(CallSession)
class CallSessionAdmin(ModelAdmin):
    list_display = ["id", "health_system", "agent_client", "state", "failed_attempts", "created_at", "ended_at"]
    list_filter = ["state", "health_system"]
    readonly_fields = [f.name for f in CallSession._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FollowUp)
class FollowUpAdmin(ModelAdmin):
    list_display = [
        "created_at",
        "health_system",
        "tool",
        "reason",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "resolved_at",
    ]
    list_filter = ["status", "health_system", "tool"]
    readonly_fields = [
        "health_system",
        "call",
        "patient_reference",
        "tool",
        "reason",
        "attempts",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "claimed_at",
        "resolved_at",
    ]
    fields = readonly_fields[:4] + ["status"] + readonly_fields[4:]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(StaffRequest)
class StaffRequestAdmin(ModelAdmin):
    """The gateway's staff queue: refill requests and messages the EHR did not take (or may not have)."""

    list_display = ["created_at", "health_system", "kind", "about", "reason", "status"]
    list_filter = ["status", "health_system", "kind"]
    readonly_fields = [
        "health_system", "call", "patient_reference", "kind", "about", "message", "business_identifier", "reason"
    ]  # fmt: skip
    fields = [*readonly_fields, "status"]

    @admin.display(description="message")
    def message(self, obj: StaffRequest) -> str:
        """A care-team message's words (decrypted for staff on the change page only, never in the list)."""
        return obj.detail or "-"

    def get_fields(self, request: HttpRequest, obj: StaffRequest | None = None) -> list[str]:
        """The words only for those who work the queue (minimum necessary): others see that it exists."""
        fields = list(super().get_fields(request, obj))
        return fields if request.user.has_perm("calls.change_staffrequest") else [f for f in fields if f != "message"]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A queued message's words are PHI: their reading is in the access log before the page shows them."""
        queued = StaffRequest.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if queued and queued.detail_encrypted and request.user.has_perm("calls.change_staffrequest"):
            reader = StaffAccess(
                queued.health_system.slug, request.user.get_username(), request.META.get("REMOTE_ADDR"),
                purpose="staff_follow_up",
            )  # fmt: skip
            try:
                reader.record(action="read", patient=queued.patient_reference, types=["Communication"],
                              ids=[f"StaffRequest/{queued.pk}"], category="messages")  # fmt: skip
            except AuditUnavailable:
                raise PermissionDenied("the access log cannot record this reading right now") from None
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
