"""The onboarding engineer's journey in a real browser at 1,366 x 768: add a health system from a
vendor preset, have bad values refused beside their fields, work through the go-live checklist
(BAA, signing key at the absolute JWKS URL, Test connection per tool, scopes, breakers with a reset,
verification policy), rotate keys, and preview a mapping rule on a record fetched from its EHR."""

import pytest
from playwright.sync_api import Page, expect

from ehr_integrations.models import HealthSystem, SigningKey
from ehr_integrations.transport import breaker, io_loop
from tests.browser.conftest import log_in, screenshot
from tests.calls.conftest import SCOPES
from tests.compliance.factories import agreement

pytestmark = pytest.mark.browser
SLUG = "lakeside"


def _beside(page: Page, field_id: str):
    """The block that holds a field and its error message."""
    return page.locator(f"#{field_id}").locator("xpath=ancestor::div[contains(@class, 'grow')][1]")


def _item(page: Page, key: str):
    return page.locator(f"#go-live-checklist li[data-item='{key}']")


def _trip_a_breaker(system: HealthSystem) -> None:
    policy = breaker.BreakerPolicy(min_calls=1, failure_rate=0.5)

    async def fail_once():
        permit = await breaker.before_call(system.pk, "Appointment", policy)
        await breaker.record(permit, failure=True, policy=policy)

    io_loop.wait(fail_once(), deadline=io_loop.deadline_in(5))


def test_onboarding_engineer_adds_from_a_preset_and_works_through_the_go_live_checklist(
    page, onboarding_engineer, sandbox, live_server
):
    jwks_url = f"{live_server.url}/jwks/{SLUG}.json"
    sandbox.register_client(f"gw-{SLUG}", scopes=SCOPES, auth="private_key_jwt", jwks_url=jwks_url)
    log_in(page, "onboarding")
    screenshot(page, "onboarding-0-home")

    # Start from a vendor preset: what each assumes is shown, the add form opens filled in.
    page.locator("#start-here [data-journey='onboarding']").get_by_role("link", name="Add from a vendor preset").click()
    for vendor in ("epic", "oracle_health", "generic"):
        expect(page.locator(f"#presets [data-vendor='{vendor}']")).to_contain_text("Patient $match")
    expect(page.locator("#presets [data-vendor='epic']")).to_contain_text("offered")
    screenshot(page, "onboarding-1-presets")
    page.check("#presets input[value='generic']")
    page.fill("#preset-start input[name=name]", "Lakeside")
    page.fill("#preset-start input[name=fhir_base_url]", sandbox.fhir_url)
    page.click("#preset-start input[type=submit]")
    expect(page.locator("#id_slug")).to_have_value(SLUG)
    expect(page.locator("#id_vendor")).to_have_value("generic")
    expect(page.locator("#id_fhir_base_url")).to_have_value(sandbox.fhir_url)

    page.select_option("#id_connection-0-auth_method", "private_key_jwt")
    page.fill("#id_connection-0-client_id", f"gw-{SLUG}")
    page.fill("#id_verification_policy-0-max_failures_per_call", "4")  # a changed inline is saved
    for identifier in ("date_of_birth", "mrn"):  # one way to verify: the factor-set editor's first row
        page.check(f"input[name='verification_policy-0-factor_sets_0'][value='{identifier}']")
    page.click("button[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("Lakeside")
    system = HealthSystem.objects.get(slug=SLUG)

    # The list's status columns: nothing done yet but the policy.
    row = page.locator("#result_list tbody tr", has_text="Lakeside")
    for key, state in [("baa", "fail"), ("connection_test", "fail"), ("breakers", "ok"), ("policy", "ok")]:
        expect(row.locator(f"[data-item='{key}']")).to_have_attribute("data-state", state)
    screenshot(page, "onboarding-3-list-status-columns")

    # The checklist on the health system's page names the absolute JWKS URL to register.
    row.get_by_role("link", name="Lakeside").click()
    expect(page.locator("#go-live-checklist > ul > li")).to_have_count(6)
    expect(_item(page, "baa")).to_have_attribute("data-state", "fail")
    expect(_item(page, "signing_key")).to_contain_text(jwks_url)
    expect(_item(page, "connection_test")).to_contain_text("Not run in the last 30 days")
    expect(_item(page, "policy")).to_contain_text("date_of_birth + mrn; 4 tries per call")
    screenshot(page, "onboarding-4-checklist-before")

    # Test connection: the sandbox fetches our JWKS, the token is granted, every tool's queries run.
    page.locator("#go-live-checklist").get_by_role("link", name="Test connection").click()
    page.click("input[value='Run test']")
    expect(page.locator("h2", has_text="All steps passed")).to_be_visible()
    for name in ("Discovery", "Token", "Metadata", "Tools"):
        expect(page.locator(f"tr[data-step='{name}']")).to_have_class("ok")
    screenshot(page, "onboarding-5-test-connection")

    # A BAA signed by compliance, then a breaker that opened: the checklist follows; reset it.
    agreement(system)
    _trip_a_breaker(system)
    page.goto(f"/admin/ehr_integrations/healthsystem/{system.pk}/change/")
    expect(_item(page, "baa")).to_have_attribute("data-state", "ok")
    expect(_item(page, "signing_key")).to_have_attribute("data-state", "ok")
    expect(_item(page, "connection_test")).to_have_attribute("data-state", "ok")
    expect(_item(page, "connection_test")).to_contain_text("appointments: works")
    expect(_item(page, "scopes")).to_contain_text("granted at the last test cover every tool")
    expect(_item(page, "breakers")).to_have_attribute("data-state", "fail")
    expect(_item(page, "breakers")).to_contain_text("Appointment: open")
    screenshot(page, "onboarding-6-checklist-breaker-open")
    page.click("#go-live-checklist button[name=reset_breakers]")
    expect(page.locator(".messagelist .success")).to_contain_text(f"{SLUG}: closed Appointment.")
    expect(page.locator("#go-live-checklist > ul > li[data-state='ok']")).to_have_count(6)
    screenshot(page, "onboarding-7-checklist-all-ok")

    # Rotate keys from the health systems list.
    page.goto("/admin/ehr_integrations/healthsystem/")
    page.check(f"input[name=_selected_action][value='{system.pk}']")
    page.select_option("select[name=action]", "rotate_keys")
    page.click("button[name=index]")
    expect(page.locator(".messagelist .success")).to_contain_text(f"{SLUG}: published")
    screenshot(page, "onboarding-8-keys-rotated")
    assert SigningKey.objects.filter(health_system=system).count() == 2  # the first one, and the next

    # The EHR connection's page shows the same absolute JWKS URL, and refuses bad values at save,
    # each message beside its field (the validation half of issue 23).
    page.goto(f"/admin/ehr_integrations/ehrconnection/{system.connection.pk}/change/")
    expect(page.locator("body")).to_contain_text(jwks_url)
    page.fill("#id_client_id", "")
    page.fill("#id_connect_timeout_s", "-5")
    page.fill("#id_read_timeout_s", "0")
    page.fill("#id_breaker_failure_rate", "7")
    page.click("button[name=_save]")
    expect(_beside(page, "id_client_id")).to_contain_text("Required: the client id")
    expect(_beside(page, "id_connect_timeout_s")).to_contain_text("greater than 0 (it is -5)")
    expect(_beside(page, "id_read_timeout_s")).to_contain_text("greater than 0 (it is 0)")
    expect(_beside(page, "id_breaker_failure_rate")).to_contain_text("at most 1")
    screenshot(page, "onboarding-9-refused-beside-fields")
    system.connection.refresh_from_db()
    assert system.connection.client_id == f"gw-{SLUG}"

    # A site rule, previewed on a patient fetched from the EHR.
    patient = sandbox.patients()[0]
    page.goto("/admin/ehr_integrations/mappingrule/add/")
    page.select_option("#id_health_system", str(system.pk))
    page.select_option("#id_resource", "patient")
    page.fill("#id_field", "preferred_name")
    page.fill("#id_expression", "name.first().family")
    page.click("button[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    page.goto(f"/admin/ehr_integrations/mappingrule/preview/?health_system={system.pk}")
    page.select_option("#id_resource", "patient")
    page.fill("#id_resource_id", patient["id"])
    page.click("input[value='Preview']")
    row = page.locator("#preview-result tr[data-field='preferred_name']")
    expect(row).to_contain_text(patient["family"])
    expect(row).to_contain_text("site rule")
    screenshot(page, "onboarding-10-mapping-preview")
