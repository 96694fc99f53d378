"""The compliance officer's journey in a real browser: filter the PHI access log, export it, check
its integrity, and find a business associate agreement that is about to expire."""

import csv
import datetime
import io

import pytest
from playwright.sync_api import expect

from tests.audit.factories import phi_access
from tests.browser.conftest import ARTIFACTS, log_in, screenshot
from tests.compliance.factories import agreement

pytestmark = pytest.mark.browser


def test_compliance_officer_filters_exports_verifies_the_log_and_sees_an_expiring_baa(
    page, compliance_officer, health_system
):
    phi_access(patient_reference="pat-1", outcome="success")
    phi_access(patient_reference="pat-2", outcome="denied", agent_client="Other Voice")
    phi_access(patient_reference="pat-1", health_system="elsewhere", action="search")
    soon = datetime.date.today() + datetime.timedelta(days=20)
    agreement(health_system, title="Acme Voice BAA 2025", expiry=soon)
    log_in(page, "compliance")

    # Filter the log by patient with the typed-in filter.
    page.goto("/admin/audit/auditrecord/")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    patient_filter = page.locator("details[data-filter-title='patient reference'] form")
    patient_filter.locator("input[name=patient_reference]").fill("pat-1")
    patient_filter.locator("input[type=submit]").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).not_to_contain_text("pat-2")
    screenshot(page, "compliance-1-log-filtered")

    # Export what the filter shows.
    with page.expect_download() as download:
        page.click("text=Export CSV")
    exported = ARTIFACTS / "compliance-2-export.csv"
    download.value.save_as(str(exported))
    exported_rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert sorted(r["patient_reference"] for r in exported_rows) == ["pat-1", "pat-1"]

    # Check the hash chain.
    page.click("input[value='Check integrity']")
    expect(page.locator(".messagelist .success")).to_contain_text("Integrity verified")
    screenshot(page, "compliance-3-integrity-verified")

    # The agreement expiring in 20 days is on the expiring dashboard.
    page.goto("/admin/compliance/businessassociateagreement/")
    page.click("text=Expiring soon")
    expiring = page.locator("h2:has-text('Expiring within 90 days') + table")
    expect(expiring).to_contain_text("Acme Voice BAA 2025")
    expect(expiring).to_contain_text(health_system.slug)
    screenshot(page, "compliance-4-expiring-baa")
