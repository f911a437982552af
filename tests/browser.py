"""Shared browser fixtures: Debian's chromium driven by Playwright (see integration-notes, "Browser tests").

tests/conftest.py registers `browser`, `page` and `site` for the whole suite: don't import them elsewhere.
`playwright install` can't download browsers here, so we launch /usr/bin/chromium with flags that keep
it from reaching outside hosts. Tests using these are marked `@pytest.mark.browser`.
"""
import os

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="session")
def browser():
    """One chromium for the session (each test gets a fresh context, so no cookies leak between tests)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium), "
                    "as .ci/run does, or set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM calls from
    # such a thread unless told it's fine (it is: nothing here is async).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as pw:
        # Playwright gives launch() a fresh temporary profile (it refuses --user-data-dir in args).
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page in a fresh context; `page.visited` lists every URL it requested (redirect hops included)."""
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.visited = []
    page.on("request", lambda request: page.visited.append(request.url))
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def site(live_server, settings, devboss):
    """The portal in pytest-django's live server, its BOSS and login at the session devboss (also in the viewer
    links: BOSS_PUBLIC_URL), with a clean cache; modules that need more define their own `site`."""
    from django.core.cache import cache

    from tests.auth.conftest import point_portal_at

    point_portal_at(settings, f"{devboss.url}/auth/realms/BOSS", devboss.url)
    settings.BOSS_PUBLIC_URL = devboss.url
    cache.clear()
    yield live_server.url
    cache.clear()
