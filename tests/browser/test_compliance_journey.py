"""The compliance officer's journey in a real browser at 1,366 x 768: the dashboard's charts and
unusual patterns, BAAs expiring and coverage gaps; the PHI access log (key columns, names, filter,
export, integrity); the patient access report found by MRN through the EHR, printable as a PDF."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import builders
from tests.audit.factories import phi_access_written_at
from tests.browser.conftest import ARTIFACTS, log_in, screenshot
from tests.compliance.factories import agreement
from tests.ehr_integrations.sandbox_systems import secret_system

pytestmark = pytest.mark.browser
CHART_TAILS = """(selector) => {
  const chart = Chart.getChart(document.querySelector(selector + " canvas"));
  return chart ? chart.data.datasets.map((d) => [d.label, d.data.slice(-2)]) : null;
}"""


@pytest.fixture
def world(sandbox, settings):
    """A day of agent traffic at Riverside, yesterday's, and one agent client reading too many patients."""
    system = secret_system(sandbox)
    acme = builders.agent_client("Acme Voice", system)
    builders.agent_client("Unsigned Voice", system, baa=False)
    patient = sandbox.patients()[0]
    now = timezone.now()
    # The site's after hours are made the current hour at the site and the next (a setting), so tonight
    # is a spike even when the page is drawn after the hour turns.
    hour = now.astimezone(ZoneInfo(system.time_zone)).hour
    settings.UNUSUAL_AFTER_HOURS_START, settings.UNUSUAL_AFTER_HOURS_END = hour, (hour + 2) % 24
    settings.UNUSUAL_DISTINCT_PATIENTS_PER_HOUR = 3
    agent = {"health_system": system.slug, "agent_client": str(acme.pk)}
    yesterday = now - datetime.timedelta(days=1)
    for outcome in ("success", "success", "denied"):
        phi_access_written_at(yesterday, outcome=outcome, patient_reference="pat-y", **agent)
    for _ in range(3):
        phi_access_written_at(now, patient_reference=patient["id"], **agent)
    phi_access_written_at(now, outcome="unavailable", patient_reference=patient["id"], **agent)
    for outcome in ("wrong_details", "wrong_details", "locked"):
        phi_access_written_at(now, action="verify", outcome=outcome, patient_reference=None, **agent)
    for n in range(4):
        phi_access_written_at(now, patient_reference=f"pat-busy-{n}", **agent)
    agreement(system, title="Acme Voice BAA 2025", expiry=timezone.localdate() + datetime.timedelta(days=20))
    return system, patient


def test_compliance_officer_reads_the_dashboard_the_log_and_a_patients_access_report(page, compliance_officer, world):
    system, patient = world
    log_in(page, "compliance")

    # The dashboard: each chart's data points as drawn, the unusual patterns, BAAs and gaps.
    expect(page.locator("#start-here [data-journey]")).to_have_count(2)
    screenshot(page, "compliance-0-home")
    page.locator("#start-here [data-journey='compliance']").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#chart-accesses canvas")).to_be_visible()
    accesses = page.evaluate(CHART_TAILS, "#chart-accesses")
    assert accesses == [["Answered", [2, 7]], ["Refused", [1, 3]], ["Failed", [0, 1]]]
    verifications = page.evaluate(CHART_TAILS, "#chart-verifications")
    assert verifications == [["Wrong details", [0, 2]], ["Locked", [0, 1]]]
    assert page.evaluate("document.querySelector('#chart-accesses canvas').width") > 100  # drawn
    busy = page.locator("#busy-hours tr[data-agent-client='Acme Voice'] td")
    expect(busy.nth(2)).to_have_text("5")  # four busy patients and the one called about, in one hour
    spike = page.locator(f"#after-hours tr[data-health-system='{system.slug}'] td")
    expect(spike.nth(1)).to_have_text("11")  # tonight's accesses
    expect(spike.nth(2)).to_have_text("0.4")  # the seven nights before: yesterday's three / 7
    expect(page.locator("#baas-expiring tr[data-state='expiring']")).to_contain_text("Acme Voice BAA 2025")
    expect(page.locator("#coverage-gaps tr[data-kind='agent client']")).to_contain_text("Unsigned Voice")
    expect(page.locator("#kpis [data-kpi='lockouts']")).to_contain_text("1")
    screenshot(page, "compliance-1-dashboard")

    # The log: key columns, names instead of ids; filter by patient from the filter panel.
    page.get_by_role("link", name="PHI access log").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(14)
    headers = page.locator("#result_list thead th .text").all_inner_texts()
    assert [h.split("\n")[0].strip().lower() for h in headers if h.strip()] == [
        "recorded at",
        "health system",
        "agent client",
        "patient reference",
        "action",
        "outcome",
    ]
    expect(page.locator("#result_list tbody tr").first).to_contain_text("Acme Voice")
    expect(page.locator("#result_list tbody tr").first).to_contain_text("Riverside Health")
    screenshot(page, "compliance-2-log")
    page.locator("a", has_text="Filters").click()  # at 1,366 px the filters are a panel
    patient_filter = page.locator("details[data-filter-title='patient reference'] form")
    patient_filter.locator("input[name=patient_reference]").fill(patient["id"])
    patient_filter.locator("input[type=submit]").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    screenshot(page, "compliance-3-log-filtered")

    # Export what the filter shows, then check the hash chain.
    with page.expect_download() as download:
        page.click("text=Export CSV")
    exported = ARTIFACTS / "compliance-4-export.csv"
    download.value.save_as(str(exported))
    exported_rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert {r["patient_reference"] for r in exported_rows} == {patient["id"]}
    assert len(exported_rows) == 4
    page.click("input[value='Check integrity']")
    expect(page.locator(".messagelist .success")).to_contain_text("Integrity verified")

    # The patient access report, by MRN: resolved through the EHR, a header, names, the note.
    page.get_by_role("link", name="Patient access report", exact=True).click()
    form = page.locator("#report-by-mrn")
    form.locator("select[name=health_system]").select_option(system.slug)
    form.locator("input[name=mrn]").fill(patient["mrn"])
    form.locator("input[type=submit]").click()
    expect(page.locator("#patient-header")).to_contain_text(f"{patient['given']} {patient['family']}")
    expect(page.locator("#patient-header")).to_contain_text(patient["birth_date"])
    expect(page.locator("#access-count")).to_have_text("4")
    expect(page.locator("#report-rows tbody")).to_contain_text("Acme Voice")
    expect(page.locator("#accounting-note")).to_contain_text(
        "excludes disclosures for treatment, payment and health care operations"
    )
    assert patient["mrn"] not in page.url
    screenshot(page, "compliance-5-patient-report")
    with page.expect_download() as download:
        page.click("#printable")
    printable = ARTIFACTS / "compliance-6-patient-report.pdf"
    download.value.save_as(str(printable))
    assert printable.read_bytes().startswith(b"%PDF-")

    # The agreement expiring in 20 days is on the expiring page too.
    page.goto("/admin/compliance/businessassociateagreement/")
    page.click("text=Expiring soon")
    expiring = page.locator("h2:has-text('Expiring within 90 days') + table")
    expect(expiring).to_contain_text("Acme Voice BAA 2025")
    expect(expiring).to_contain_text(system.slug)
    screenshot(page, "compliance-7-expiring-baa")
