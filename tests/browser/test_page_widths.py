"""No admin page scrolls sideways at 1,366 x 768: every model's list, add and change page, and the
custom pages, seen by a superuser (who sees them all), with some of everything in the database."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests import builders
from tests.audit.factories import phi_access
from tests.browser.conftest import PASSWORD, VIEWPORT
from tests.compliance.factories import agreement

pytestmark = pytest.mark.browser
# Elements that scroll sideways inside the page (a wide table in an overflow box is scrolling too).
SIDEWAYS = """() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) found.push(`page ${root.scrollWidth} px`);
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    const scrolls = ["auto", "scroll"].includes(style.overflowX);
    if (scrolls && el.scrollWidth > el.clientWidth + 1 && el.offsetParent !== null && el.clientWidth > 0) {
      const name = `${el.tagName.toLowerCase()}#${el.id}.${[...el.classList].slice(0, 3).join(".")}`;
      found.push(`${name}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return found;
}"""


def _pages(system, connection_pk: int) -> list[str]:
    pages = [
        "/",
        reverse("admin:index"),
        reverse("compliance_dashboard"),
        reverse("admin:audit_auditrecord_patient_report") + "?patient_reference=pat-1&health_system=riverside",
        reverse("admin:ehr_integrations_healthsystem_preset"),
        reverse("admin:ehr_integrations_ehrconnection_test", args=[connection_pk]),
        reverse("admin:compliance_baa_expiring"),
        reverse("admin:ehr_integrations_mappingrule_preview") + f"?health_system={system.pk}",
        reverse("admin:ehr_integrations_mappingrule_coverage") + f"?health_system={system.pk}",
    ]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{name}_changelist"))
        try:
            pages.append(reverse(f"{name}_add"))
        except NoReverseMatch:
            pass
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"{name}_change", args=[first.pk]))
    return pages


def test_no_admin_page_is_wider_than_the_window(page, admin_user, sandbox):
    system = builders.health_system()
    builders.agent_client("Acme Voice", system)
    agreement(system, title="Acme Voice BAA 2025")
    phi_access(patient_reference="pat-1")
    admin_user.set_password(PASSWORD)
    admin_user.save()
    page.goto("/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin/")
    too_wide = {}
    for url in _pages(system, system.connection.pk):
        response = page.goto(url)
        assert response.status < 500, url
        found = page.evaluate(SIDEWAYS)
        if found:
            too_wide[url] = found
    assert too_wide == {}, f"sideways scrolling at {VIEWPORT['width']} px: {too_wide}"
