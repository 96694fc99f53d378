"""The onboarding engineer's journey in a real browser: add a health system, discover and test its
connection, rotate its signing keys, and preview a mapping rule on a record fetched from its EHR."""

import pytest
from playwright.sync_api import expect

from ehr_integrations.models import EHRConnection, HealthSystem, SigningKey
from tests.browser.conftest import log_in, screenshot
from tests.calls.conftest import SCOPES

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret"


def test_onboarding_engineer_adds_tests_rotates_and_previews_a_health_system(page, onboarding_engineer, sandbox):
    sandbox.register_client("gw-lakeside", scopes=SCOPES, auth="client_secret_basic", secret=SECRET)
    log_in(page, "onboarding")

    # Create the health system with its EHR connection (the secret is typed in, never shown back).
    page.goto("/admin/ehr_integrations/healthsystem/add/")
    page.locator("#id_name").press_sequentially("Lakeside")  # typed: the slug fills itself as you type
    expect(page.locator("#id_slug")).to_have_value("lakeside")  # prepopulated from the name
    page.select_option("#id_vendor", "generic")
    page.fill("#id_fhir_base_url", sandbox.fhir_url)
    page.select_option("#id_connection-0-auth_method", "client_secret_basic")
    page.fill("#id_connection-0-client_id", "gw-lakeside")
    page.fill("#id_connection-0-client_secret", SECRET)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("Lakeside")
    screenshot(page, "onboarding-1-health-system-added")
    system = HealthSystem.objects.get(slug="lakeside")
    connection = EHRConnection.objects.get(health_system=system)
    assert connection.client_secret() == SECRET

    # Test connection: discovery, token, metadata, then every tool's planned queries, each timed.
    connection_page = f"/admin/ehr_integrations/ehrconnection/{connection.pk}/change/"
    page.goto(connection_page)
    expect(page.locator("body")).to_contain_text("Nothing discovered yet")
    page.get_by_role("link", name="Test connection").click()
    page.click("input[value='Run test']")
    expect(page.locator("h2", has_text="All steps passed")).to_be_visible()
    steps = page.locator("#connection-test tbody tr")
    expect(steps).to_have_count(4)
    for name in ("Discovery", "Token", "Metadata", "Tools"):
        expect(page.locator(f"tr[data-step='{name}']")).to_have_class("ok")
    assert SECRET not in page.content()
    screenshot(page, "onboarding-2-test-connection")

    # What discovery found is now on the connection page.
    page.goto(connection_page)
    expect(page.locator("body")).to_contain_text(sandbox.token_url)
    screenshot(page, "onboarding-3-discovered")

    # Rotate keys from the health systems list.
    page.goto("/admin/ehr_integrations/healthsystem/")
    page.check(f"input[name=_selected_action][value='{system.pk}']")
    page.select_option("select[name=action]", "rotate_keys")
    page.click("button[name=index]")
    expect(page.locator(".messagelist .success")).to_contain_text("Lakeside: published")
    screenshot(page, "onboarding-4-keys-rotated")
    assert SigningKey.objects.filter(health_system=system).count() == 1

    # A site rule, previewed on a patient fetched from the EHR.
    patient = sandbox.patients()[0]
    page.goto("/admin/ehr_integrations/mappingrule/add/")
    page.select_option("#id_health_system", str(system.pk))
    page.select_option("#id_resource", "patient")
    page.fill("#id_field", "preferred_name")
    page.fill("#id_expression", "name.first().family")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    page.goto(f"/admin/ehr_integrations/mappingrule/preview/?health_system={system.pk}")
    page.select_option("#id_resource", "patient")
    page.fill("#id_resource_id", patient["id"])
    page.click("input[value='Preview']")
    row = page.locator("#preview-result tr[data-field='preferred_name']")
    expect(row).to_contain_text(patient["family"])
    expect(row).to_contain_text("site rule")
    screenshot(page, "onboarding-5-mapping-preview")
