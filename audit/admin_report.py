"""The patient access report in the admin: by EHR id (GET) or by MRN (POST: an MRN never goes in a
URL), with the patient's header from the EHR, names instead of ids, CSV and a printable PDF.

Every view of it is recorded (the review itself, and each lookup the directory makes).
"""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone

from audit import csv_export, report_pdf
from audit.admin_filters import parse_utc
from audit.disclosures import patient_access_report
from audit.display_names import health_system_choices, with_names
from audit.errors import AuditUnavailable
from audit.models import AuditRecord
from audit.patient_directory import DirectoryUnavailable, directory

ACCOUNTING_NOTE = (
    "This is an access report: every access to this patient's data that the gateway recorded, for any "
    "purpose. HIPAA's accounting of disclosures (45 CFR 164.528) excludes disclosures for treatment, "
    "payment and health care operations, so most accesses listed here (purpose TREAT: a caller's own "
    "call about their care) would not appear in such an accounting."
)


class PatientReportMixin:
    """For AuditRecordAdmin, which provides _require_view and _record_staff_access."""

    def patient_report(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        query = request.POST if request.method == "POST" else request.GET
        system = query.get("health_system", "").strip()
        header = problem = None
        patient = query.get("patient_reference", "").strip()
        reviewer = request.user.get_username()
        address = request.META.get("REMOTE_ADDR")
        # The report shows what came before this review: not the lookups it makes, nor its own record.
        before = AuditRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        try:
            if request.method == "POST" and query.get("mrn", "").strip():
                header = directory().find_by_mrn(
                    health_system=system, mrn=query["mrn"], reviewer=reviewer, source_address=address
                )
                patient = header.reference if header else ""
                if header is None:
                    problem = "No single patient has that MRN at this health system's EHR."
            elif patient and system:
                header = directory().header_for(
                    health_system=system, patient_reference=patient, reviewer=reviewer, source_address=address
                )
        except DirectoryUnavailable as exc:
            problem = f"The EHR could not answer ({exc.reason}): the patient's name is not shown."
        except AuditUnavailable:
            raise PermissionDenied("the access log cannot record this lookup right now") from None
        records = (
            self._report_records(request, query, patient=patient, system=system, before=before) if patient else None
        )
        output = query.get("format")
        if records is not None and output == "csv":
            response = StreamingHttpResponse(csv_export.csv_lines(records.iterator(2000)), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="patient-access-report.csv"'
            return response
        if problem:
            messages.warning(request, problem)
        systems = health_system_choices()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Patient access report",
            "records": records,
            "header": header,
            "patient_reference": patient,
            "query": query,
            "health_systems": systems,
            "health_system_name": dict(systems).get(system, system),
            "accounting_note": ACCOUNTING_NOTE,
            "generated_at": timezone.now(),
            "reviewer": reviewer,
        }
        if records is not None and output == "pdf":
            return _pdf(request, context)
        return TemplateResponse(request, "admin/audit/patient_report.html", context)

    def _report_records(
        self, request: HttpRequest, query: object, *, patient: str, system: str, before: int
    ) -> QuerySet[AuditRecord]:
        try:
            since, until = parse_utc(query.get("since", "")), parse_utc(query.get("until", ""))
        except IncorrectLookupParameters:
            since = until = None
        self._record_staff_access(request, action="patient_report", patient=patient, health_system=system)
        records = patient_access_report(patient_reference=patient, health_system=system, since=since, until=until)
        return with_names(records.filter(pk__lte=before))


def _pdf(request: HttpRequest, context: dict) -> HttpResponse:
    html = render_to_string("admin/audit/patient_report_print.html", context, request=request)
    response = HttpResponse(report_pdf.render(html), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="patient-access-report.pdf"'
    return response
