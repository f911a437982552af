"""A devboss of our own for the login tests (2-second access tokens, so tests can watch them expire),
and the portal's settings pointed at it."""
import copy
import time

import pytest

from devboss import procs
from devboss.testing import start_devboss
from tests.jobs import password_grant, userinfo  # noqa: F401 - used by the login tests

ACCESS_TOKEN_SECONDS = 2
EXPIRY_MARGIN = 0.5  # seconds past a token's expiry before a test counts on it being expired


def sleep_until_expired(expires):
    """Sleep until `expires` (a datetime, e.g. a stored token's expires_at, or a time.time() value) is
    EXPIRY_MARGIN seconds past: a fixed sleep of ACCESS_TOKEN_SECONDS would also wait out the time the login
    itself took."""
    deadline = expires if isinstance(expires, (int, float)) else expires.timestamp()
    time.sleep(max(0.0, deadline + EXPIRY_MARGIN - time.time()))


@pytest.fixture(scope="session")
def oidc_devboss(tmp_path_factory):
    server = start_devboss(
        tmp_path_factory.mktemp("devboss-oidc"),
        # pytest-django exports DJANGO_SETTINGS_MODULE=portal.settings, which the child would inherit.
        {"DJANGO_SETTINGS_MODULE": "devboss.settings", "DEVBOSS_ACCESS_TOKEN_SECONDS": str(ACCESS_TOKEN_SECONDS)},
    )
    server.issuer = f"{server.url}/auth/realms/BOSS"
    yield server
    procs.stop(server.proc)


def point_portal_at(settings, issuer, boss_url=None):
    """Point the portal's BOSS client and OIDC login at `issuer` (and `boss_url`)."""
    if boss_url:
        settings.BOSS_URL = boss_url
    settings.OIDC_SERVER_URL = issuer
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["openid_connect"]["APPS"][0]["settings"]["server_url"] = issuer
    settings.SOCIALACCOUNT_PROVIDERS = providers


@pytest.fixture
def portal(settings, oidc_devboss):
    """The portal's settings pointed at our devboss; refresh only once a token has really expired."""
    point_portal_at(settings, oidc_devboss.issuer, oidc_devboss.url)
    settings.OIDC_REFRESH_MARGIN_SECONDS = 0
    settings.BOSS_PUBLIC_TOKEN = "public"
    return settings


def log_in(page, portal_url, username, password):
    """Log in through the portal's login page and devboss's; return when back on the portal."""
    page.goto(f"{portal_url}/accounts/login/")
    page.click("#login-with-boss")
    page.wait_for_url("**/auth/realms/BOSS/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{portal_url}/**")
    page.wait_for_load_state()
