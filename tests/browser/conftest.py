"""Real-browser tests: Playwright drives Debian's chromium (/usr/bin/chromium, installed by
.ci/system-packages; `playwright install` is never used) against pytest-django's live_server.
Screenshots go to test-artifacts/ (kept by CI as artefacts, never committed). The window is
1,366 x 768, the laptop a hospital's staff use; `assert_fits` checks no page scrolls sideways.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-only"  # tests/conftest.py's staff personas
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are plain
    # sync code all the same. Module scope keeps the flag (and the loop) out of other test modules.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()


@pytest.fixture
def page(chromium, live_server) -> Page:
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def log_in(page: Page, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin/")


def screenshot(page: Page, name: str) -> Path:
    """Keep a picture for people, after checking the page fits the window's width."""
    assert_fits(page)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def page_width(page: Page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def assert_fits(page: Page) -> None:
    """No horizontal scrolling at 1,366 px: the page is no wider than the window."""
    width = page_width(page)
    assert width <= VIEWPORT["width"], f"{page.url} is {width} px wide at a {VIEWPORT['width']} px window"
