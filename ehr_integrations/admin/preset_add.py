"""A guided add: pick the vendor preset first, see what it assumes, then fill the add form it opens.

The preset's claims (does the site offer $match, which Patient searches it accepts, how MRNs are
found) come from presets/*.yaml; the add form opens with the vendor, name, slug and FHIR base set.
"""

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.text import slugify
from unfold.widgets import UnfoldAdminRadioSelectWidget, UnfoldAdminTextInputWidget, UnfoldAdminURLInputWidget

from ehr_integrations.models import Vendor
from ehr_integrations.presets import Preset, preset


class PresetStartForm(forms.Form):
    vendor = forms.ChoiceField(choices=Vendor.choices, widget=UnfoldAdminRadioSelectWidget)
    name = forms.CharField(max_length=200, widget=UnfoldAdminTextInputWidget)
    fhir_base_url = forms.URLField(
        label="FHIR base URL",
        max_length=500,
        assume_scheme="https",
        widget=UnfoldAdminURLInputWidget,
        help_text="The FHIR R4 base the health system gave you, e.g. https://fhir.example.org/api/FHIR/R4",
    )


def preset_facts(vendor: str) -> list[tuple[str, str]]:
    """What a preset assumes about the vendor's server, in words (all of it checked by Test connection)."""
    found: Preset = preset(vendor)
    mrn = found.mrn_identifier
    mrn_by = ", ".join([*mrn.type_texts, *(c.code for c in mrn.type_codings), *mrn.systems]) or "any identifier"
    return [
        ("Patient $match", "offered" if found.supports_match else "not offered: verification searches Patient"),
        ("Patient searches accepted", "; ".join(" + ".join(s) for s in found.patient_search_sets)),
        ("MRN found by", mrn_by),
        ("Client id header on discovery", found.client_id_header or "none"),
        ("Dispenses (refill history)", "searched" if found.dispense_search_param else "not available"),
    ]


class PresetAddAdminMixin:
    """For HealthSystemAdmin: /add-from-preset/, linked from the sidebar and the list."""

    def get_urls(self) -> list[URLPattern | URLResolver]:
        view = self.admin_site.admin_view(self.add_from_preset_view)
        return [path("add-from-preset/", view, name="ehr_integrations_healthsystem_preset")] + super().get_urls()

    def add_from_preset_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PresetStartForm(request.POST or None, initial={"vendor": request.GET.get("vendor", Vendor.GENERIC)})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            query = {
                "vendor": data["vendor"],
                "name": data["name"],
                "slug": slugify(data["name"])[:50],
                "fhir_base_url": data["fhir_base_url"],
            }
            return HttpResponseRedirect(f"{reverse('admin:ehr_integrations_healthsystem_add')}?{urlencode(query)}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Add a health system from a vendor preset",
            "form": form,
            "presets": [(value, label, preset_facts(value)) for value, label in Vendor.choices],
        }
        return TemplateResponse(request, "admin/ehr_integrations/healthsystem/add_from_preset.html", context)
