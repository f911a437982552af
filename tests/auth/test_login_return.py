"""Log in from any page and come back to it; devboss's login page wears the portal's look (its stylesheet)."""
import re

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_in_the_top_bar_returns_to_the_page_you_were_on(portal, live_server, page, oidc_devboss):
    page.goto(f"{live_server.url}/c/demo/cortex/?refresh=1")
    page.click(".who a.login")
    page.click("#login-with-boss")
    page.wait_for_url("**/auth/realms/BOSS/login/**")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", oidc_devboss.password("alice"))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/c/demo/cortex/\?refresh=1$"))
    assert "Alice" in page.inner_text(".who")


def test_devbosss_login_page_uses_the_portals_stylesheet(portal, live_server, page, oidc_devboss):
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#login-with-boss")
    page.wait_for_url("**/auth/realms/BOSS/login/**")
    sheets = page.evaluate("Array.from(document.styleSheets).map(s => s.href).filter(Boolean)")
    assert any(href.endswith("/auth/realms/BOSS/resources/portal.css") for href in sheets)
    css = requests.get(next(h for h in sheets if h.endswith("portal.css")), timeout=10)
    assert css.headers["Content-Type"].startswith("text/css")
    with open("static/portal/portal.css", "rb") as mine:
        assert css.content == mine.read()  # the portal's own stylesheet, not a copy that drifts
    # The page is styled: the primary button takes the design system's colour, not the browser's grey.
    colour = page.evaluate("getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor")
    assert colour not in ("rgb(239, 239, 239)", "rgba(0, 0, 0, 0)", "buttonface")
