"""Mapping rules in the admin: validated on save, a preview of the rules on one resource, a coverage report."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path
from unfold.admin import ModelAdmin

from audit.errors import AuditUnavailable
from ehr_integrations.errors import EHRError
from ehr_integrations.models import FlatResource, HealthSystem, MappingRule
from ehr_integrations.normalize.mapping import rule_fields, validate_rule
from ehr_integrations.setup import mapping_preview

FIELDS_HELP = "; ".join(f"{resource}: {', '.join(rule_fields(resource))}" for resource in FlatResource.values)


class MappingRuleForm(forms.ModelForm):
    class Meta:
        model = MappingRule
        fields = ["health_system", "resource", "field", "expression", "enabled", "note"]
        widgets = {"expression": forms.Textarea(attrs={"rows": 3, "cols": 90})}
        help_texts = {"field": f"The flat field this rule sets. {FIELDS_HELP}."}

    def _post_clean(self) -> None:
        super()._post_clean()
        try:
            validate_rule(self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


class PreviewForm(forms.Form):
    health_system = forms.ModelChoiceField(HealthSystem.objects.all())
    resource = forms.ChoiceField(choices=FlatResource.choices)
    fhir_json = forms.CharField(
        required=False,
        label="FHIR JSON",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 100}),
        help_text="A resource, or a Bundle holding it with the resources it references.",
    )
    resource_id = forms.CharField(required=False, max_length=64, help_text="Or: fetch this id from the site's EHR.")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("fhir_json", "").strip()) == bool(data.get("resource_id", "").strip()):
            raise forms.ValidationError("Paste FHIR JSON or give a resource id (one of the two).")
        return data


class CoverageForm(forms.Form):
    health_system = forms.ModelChoiceField(HealthSystem.objects.all())
    patient_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="Test patient ids, one per line. Empty: the EHR's first few patients, where it lists them.",
    )

    def ids(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["patient_ids"].splitlines() if line.strip()]


def _failure(exc: Exception) -> str:
    if isinstance(exc, mapping_preview.PreviewError):
        return str(exc)
    if isinstance(exc, AuditUnavailable):
        return "The PHI access log cannot be written, so nothing is shown."
    reason = getattr(exc, "reason", None) or getattr(exc, "error", None) or type(exc).__name__
    return f"The EHR could not answer ({reason})."


@admin.register(MappingRule)
class MappingRuleAdmin(ModelAdmin):
    form = MappingRuleForm
    list_display = ["health_system", "resource", "field", "expression", "enabled", "updated_at"]
    list_filter = ["health_system", "resource", "enabled"]
    search_fields = ["field", "expression", "note"]
    change_list_template = "admin/ehr_integrations/mappingrule/change_list.html"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="ehr_integrations_mappingrule_preview"),
            path("coverage/", view(self.coverage_view), name="ehr_integrations_mappingrule_coverage"),
        ] + super().get_urls()

    def _page(self, request: HttpRequest, template: str, title: str, **context: object) -> TemplateResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context}
        return TemplateResponse(request, f"admin/ehr_integrations/mappingrule/{template}", context)

    def _access(self, request: HttpRequest, system: HealthSystem) -> mapping_preview.StaffAccess:
        return mapping_preview.StaffAccess(system, request.user, request.META.get("REMOTE_ADDR"))

    def preview_view(self, request: HttpRequest) -> TemplateResponse:
        form = PreviewForm(request.POST or None, initial={"health_system": request.GET.get("health_system")})
        rows, error = None, None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["fhir_json"].strip():
                    rows = mapping_preview.preview_pasted(data["health_system"], data["resource"], data["fhir_json"])
                else:
                    access = self._access(request, data["health_system"])
                    rows = mapping_preview.preview_fetched(access, data["resource"], data["resource_id"])
            except (mapping_preview.PreviewError, EHRError, AuditUnavailable) as exc:
                error = _failure(exc)
        return self._page(request, "preview.html", "Preview mapping rules", form=form, rows=rows, error=error)

    def coverage_view(self, request: HttpRequest) -> TemplateResponse:
        form = CoverageForm(request.POST or None, initial={"health_system": request.GET.get("health_system")})
        report, error = None, None
        if request.method == "POST" and form.is_valid():
            try:
                report = mapping_preview.coverage(self._access(request, form.cleaned_data["health_system"]), form.ids())
            except (EHRError, AuditUnavailable) as exc:
                error = _failure(exc)
        return self._page(request, "coverage.html", "Mapping coverage", form=form, report=report, error=error)
