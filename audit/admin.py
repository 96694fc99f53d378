"""The compliance officer's view of the PHI access log: read-only, filterable, exportable, verifiable."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin

from audit import csv_export, fhir_export
from audit.admin_filters import ExactValueFilter, TimeRangeFilter
from audit.admin_report import PatientReportMixin
from audit.display_names import with_names
from audit.errors import AuditUnavailable
from audit.models import AuditRecord, PurgeRun
from audit.sealing import seal_pending
from audit.selectors import LOCKOUT_OUTCOMES, incident_count, lockouts_since
from audit.staff_access import StaffAccess
from audit.verification import verify_audit_log

LOCKOUT_NOTICE_WINDOW = timedelta(hours=24)


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(PatientReportMixin, ReadOnlyAdmin):
    # The key columns; every field is on the record's own page.
    list_display = ["recorded_at", "health_system_name", "agent_client_name", "patient_reference", "action", "outcome"]
    list_display_links = ["recorded_at"]
    # The record's own page: every field, with the names beside the ids the log keeps.
    fields = [
        "recorded_at",
        ("health_system_name", "health_system"),
        ("agent_client_name", "agent_client"),
        "patient_reference",
        "action",
        "outcome",
        "purpose",
        "data_category",
        "resource_types",
        "resource_ids",
        "verification_method",
        "source_address",
        "call_session",
        "correlation_id",
        "event_id",
    ]
    readonly_fields = [name for row in fields for name in (row if isinstance(row, tuple) else (row,))]
    list_filter = [
        ("recorded_at", TimeRangeFilter),
        ("health_system", ExactValueFilter),
        ("agent_client", ExactValueFilter),
        ("patient_reference", ExactValueFilter),
        ("call_session", ExactValueFilter),
        "outcome",
        "action",
        "seal__verdict",
    ]
    ordering = ["-recorded_at", "-id"]
    list_per_page = 100
    show_full_result_count = False
    actions = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditRecord]:
        return with_names(super().get_queryset(request))

    @admin.display(description="health system", ordering="health_system_name")
    def health_system_name(self, obj: AuditRecord) -> str:
        return obj.health_system_name

    @admin.display(description="agent client", ordering="agent_client_name")
    def agent_client_name(self, obj: AuditRecord) -> str:
        return obj.agent_client_name

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        incidents = incident_count()
        if incidents:
            messages.warning(
                request,
                f"{incidents} audit incident(s): records whose MAC was invalid when sealed (forged, or altered "
                "before sealing), quarantined in the chain. Filter by seal verdict to list them.",
            )
        self._notify_lockouts(request)
        return super().changelist_view(request, extra_context)

    def _notify_lockouts(self, request: HttpRequest) -> None:
        """Issue 18: every lockout and spent verification budget is a notice to compliance."""
        since = timezone.now() - LOCKOUT_NOTICE_WINDOW
        found = lockouts_since(since)
        if not found.total:
            return
        query = urlencode(
            {"outcome__in": ",".join(LOCKOUT_OUTCOMES), "recorded_at__gte": since.strftime("%Y-%m-%dT%H:%M:%S")}
        )
        messages.warning(
            request,
            format_html(
                "Verification in the last 24 hours: {} lockout(s) and {} spent budget(s). "
                '<a href="{}?{}">List them</a>.',
                found.locked,
                found.budget_spent,
                reverse("admin:audit_auditrecord_changelist"),
                query,
            ),
        )

    def get_urls(self) -> list[URLPattern | URLResolver]:
        view = self.admin_site.admin_view
        return [
            path("export.csv", view(self.export_csv), name="audit_auditrecord_export_csv"),
            path("export.fhir.json", view(self.export_fhir), name="audit_auditrecord_export_fhir"),
            path("verify/", view(require_POST(self.verify)), name="audit_auditrecord_verify"),
            path("patient-report/", view(self.patient_report), name="audit_auditrecord_patient_report"),
        ] + super().get_urls()

    def export_csv(self, request: HttpRequest) -> HttpResponse:
        records = self._filtered(request, action="export_csv")
        response = StreamingHttpResponse(csv_export.csv_lines(records.iterator(2000)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="phi-access-log-{timezone.now():%Y%m%dT%H%M}.csv"'
        return response

    def export_fhir(self, request: HttpRequest) -> HttpResponse:
        records = self._filtered(request, action="export_fhir")
        response = StreamingHttpResponse(
            fhir_export.bundle_chunks(records.iterator(2000)), content_type="application/fhir+json"
        )
        response["Content-Disposition"] = f'attachment; filename="phi-access-log-{timezone.now():%Y%m%dT%H%M}.json"'
        return response

    def verify(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        seal_pending()
        report = verify_audit_log()
        if report.intact:
            messages.success(
                request, f"Integrity verified: {report.checked} records, chain head at {report.head_position}."
            )
        else:
            messages.error(request, f"Integrity check FAILED: {report.problem.describe()}")
        return HttpResponseRedirect(reverse("admin:audit_auditrecord_changelist"))

    def _filtered(self, request: HttpRequest, *, action: str) -> QuerySet[AuditRecord]:
        self._require_view(request)
        changelist = self.get_changelist_instance(request)
        system = changelist.get_filters_params().get("health_system", [""])[-1]
        patient = changelist.get_filters_params().get("patient_reference", [""])[-1]
        review = self._record_staff_access(request, action=action, patient=patient or None, health_system=system)
        return changelist.get_queryset(request).filter(pk__lt=review.pk)

    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _record_staff_access(
        self, request: HttpRequest, *, action: str, patient: str | None, health_system: str
    ) -> AuditRecord:
        # Reading the log shows patient references: that access is itself recorded, and fails closed.
        try:
            reader = StaffAccess(
                health_system or "*", request.user.get_username(), request.META.get("REMOTE_ADDR"),
                purpose="compliance_review",
            )  # fmt: skip
            return reader.record(action=action, patient=patient, types=["AuditEvent"], ids=[], category="audit_log")
        except AuditUnavailable:
            raise PermissionDenied("the access log cannot record this review right now") from None


@admin.register(PurgeRun)
class PurgeRunAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "requested_by", "cutoff", "outcome", "records_purged", "anchor_position", "detail"]
    list_filter = ["outcome"]
