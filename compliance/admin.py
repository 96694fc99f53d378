from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline

from compliance.models import BAAReminder, BusinessAssociate, BusinessAssociateAgreement
from compliance.selectors import expiry_dashboard


class AgreementInline(TabularInline):
    model = BusinessAssociateAgreement
    fields = ["title", "status", "effective_date", "expiry_date"]
    show_change_link = True
    extra = 0


@admin.register(BusinessAssociate)
class BusinessAssociateAdmin(ModelAdmin):
    list_display = ["name", "services", "contact_name", "contact_email"]
    search_fields = ["name"]
    inlines = [AgreementInline]


class ReminderInline(TabularInline):
    model = BAAReminder
    fields = ["days_before", "expiry_date", "sent_at", "recipients"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: BusinessAssociateAgreement | None = None) -> bool:
        return False


@admin.register(BusinessAssociateAgreement)
class BusinessAssociateAgreementAdmin(ModelAdmin):
    list_display = ["__str__", "business_associate", "status", "effective_date", "expiry_date", "days_left", "covers"]
    list_filter = ["status", "business_associate", "health_systems"]
    search_fields = ["title", "business_associate__name", "services_covered"]
    filter_horizontal = ["health_systems"]
    readonly_fields = ["signed_document", "created_at", "updated_at"]
    date_hierarchy = "expiry_date"
    inlines = [ReminderInline]
    fieldsets = [
        (None, {"fields": ["business_associate", "title", "status", "effective_date", "expiry_date"]}),
        ("Coverage", {"fields": ["health_systems", "services_covered"]}),
        ("Document", {"fields": ["document", "signed_document"]}),
        ("Contact", {"fields": ["contact_name", "contact_email", "notes"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessAssociateAgreement]:
        return super().get_queryset(request).select_related("business_associate").prefetch_related("health_systems")

    @admin.display(description="Days left", ordering="expiry_date")
    def days_left(self, obj: BusinessAssociateAgreement) -> int | None:
        return (obj.expiry_date - timezone.localdate()).days if obj.expiry_date else None

    @admin.display(description="Health systems")
    def covers(self, obj: BusinessAssociateAgreement) -> str:
        return ", ".join(s.slug for s in obj.health_systems.all())

    @admin.display(description="Signed agreement")
    def signed_document(self, obj: BusinessAssociateAgreement) -> str:
        if not obj.pk or not obj.document:
            return "-"
        url = reverse("admin:compliance_businessassociateagreement_document", args=[obj.pk])
        return format_html('<a href="{}">Download</a>', url)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        extra = [
            path("expiring/", self.admin_site.admin_view(self.expiring_view), name="compliance_baa_expiring"),
            path(
                "<int:pk>/document/",
                self.admin_site.admin_view(self.document_view),
                name="compliance_businessassociateagreement_document",
            ),
        ]
        return extra + super().get_urls()

    def expiring_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Business associate agreements: expired and expiring soon",
            "dashboard": expiry_dashboard(today=timezone.localdate()),
        }
        return TemplateResponse(request, "admin/compliance/expiring.html", context)

    def document_view(self, request: HttpRequest, pk: int) -> FileResponse:
        # Served through the admin, not MEDIA_URL: signed agreements are not public files.
        agreement = get_object_or_404(BusinessAssociateAgreement, pk=pk)
        if not self.has_view_permission(request, agreement):
            raise PermissionDenied
        if not agreement.document:
            raise Http404
        return FileResponse(agreement.document.open("rb"), as_attachment=True)
