"""In chromium: private data in the local Neuroglancer (issue #15).

alice logs into the portal (OIDC at the session devboss, whose session cookie the HTTPS devboss shares: one
host, one database), opens the Neuroglancer link of her private channel from the experiment page, and the
viewer draws it: its client asks devboss for credentials (POST /credentials/devboss) and gets alice's own
read-only token. An anonymous visitor gets no token and no data; bob gets a token of his own, which BOSS
refuses for alice's data. Pages warn where a viewer link can't show data.
"""
import pytest
import requests
from allauth.socialaccount.models import SocialToken
from django.contrib.auth import get_user_model
from django.core.cache import cache

from tests.auth.conftest import log_in, point_portal_at
from tests.browse.test_browser import has_texture, panel_image, wait_for
from tests.jobs import login_token

pytestmark = [pytest.mark.django_db(transaction=True)]

EXPERIMENT = "/c/alice_lab/private_exp/"


@pytest.fixture
def site(live_server, settings, devboss, https_devboss):
    point_portal_at(settings, f"{devboss.url}/auth/realms/BOSS", devboss.url)
    settings.BOSS_PUBLIC_URL = https_devboss.url
    settings.NDVIZ_URL = https_devboss.ndviz_url
    settings.NDVIZ_PRIVATE_DATA = True
    cache.clear()
    yield live_server.url
    cache.clear()


def watch(viewer):
    """Everything the viewer asks devboss, as (method, path, status), and the bodies of credential answers."""
    seen = {"calls": [], "credentials": []}

    def on_response(response):
        path = response.url.split("://", 1)[1].partition("/")[2]
        seen["calls"].append((response.request.method, "/" + path, response.status))
        if "/credentials/" in response.url:
            try:
                seen["credentials"].append(response.json())
            except Exception:  # noqa: BLE001 - an error page
                seen["credentials"].append(None)

    viewer.on("response", on_response)
    return seen


def cutouts(seen, status, viewer=None):
    if viewer is not None:
        viewer.wait_for_timeout(200)  # Playwright hands events over only while we wait on it
    return [p for m, p, s in seen["calls"] if p.startswith("/latest/cutout/alice_lab/private_exp/") and s == status]


def lit_share(image):
    """The share of the panel's pixels that are not (near) black."""
    import numpy as np

    return float((np.asarray(image.convert("L")) > 20).mean())


def open_private_link(context, link):
    viewer = context.new_page()
    viewer.set_viewport_size({"width": 1200, "height": 900})
    seen = watch(viewer)
    viewer.goto(link)
    return viewer, seen


@pytest.mark.browser
def test_alice_sees_her_private_channel_in_the_local_viewer(site, page, devboss, https_devboss):
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + EXPERIMENT)
    assert page.locator(".viewer-warning").count() == 0  # this viewer draws alice's private data
    with page.context.expect_page() as opened:
        page.locator('tr[data-channel="em"] a.viewer').click()
    viewer = opened.value
    viewer.set_viewport_size({"width": 1200, "height": 900})
    seen = watch(viewer)
    viewer.reload()  # watch from the first request on
    assert wait_for(lambda: cutouts(seen, 200, viewer)), [c for c in seen["calls"] if "/v/devboss/" not in c[1]]
    assert wait_for(lambda: has_texture(panel_image(viewer)) and lit_share(panel_image(viewer)) > 0.3), \
        "the xy panel shows no image data"
    answers = [a for a in seen["credentials"] if a]
    assert answers and all(set(a) == {"generation", "credentials"} for a in answers)
    assert ("POST", "/credentials/devboss", 200) in seen["calls"]
    token = answers[0]["credentials"]
    # A token of the viewer's own, not the one the portal keeps for alice's BOSS calls.
    assert token != SocialToken.objects.get(account__user__username="alice").token
    assert not any(token in path for _, path, _ in seen["calls"])  # never in a URL
    assert token not in https_devboss.access_log.read_text()
    body = viewer.locator("body").inner_text()
    assert "Disconnected" not in body and "credentials" not in body.lower()


@pytest.mark.browser
def test_an_anonymous_visitor_gets_no_token_and_no_data(site, page, browser, devboss, https_devboss):
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + EXPERIMENT)
    link = page.get_attribute('tr[data-channel="em"] a.viewer', "href")
    stranger = browser.new_context(ignore_https_errors=True)
    try:
        viewer, seen = open_private_link(stranger, link)
        assert wait_for(lambda: viewer.wait_for_timeout(200) or [c for c in seen["calls"]
                                                                 if c[1].startswith("/credentials/")], timeout=20)
        viewer.wait_for_timeout(1500)
        assert {s for m, p, s in seen["calls"] if p.startswith("/credentials/")} == {401}
        assert not [a for a in seen["credentials"] if a and "credentials" in a]
        assert not cutouts(seen, 200)
        assert lit_share(panel_image(viewer)) < 0.02  # black: only the axis labels and buttons
    finally:
        stranger.close()


@pytest.mark.browser
def test_bob_gets_only_his_own_token_and_no_data_of_alices(site, page, browser, devboss, https_devboss):
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + EXPERIMENT)
    link = page.get_attribute('tr[data-channel="em"] a.viewer', "href")
    bob = browser.new_context(ignore_https_errors=True)
    try:
        bob_page = bob.new_page()
        log_in(bob_page, site, "bob", devboss.password("bob"))
        viewer, seen = open_private_link(bob, link)
        assert wait_for(lambda: viewer.wait_for_timeout(200) or [a for a in seen["credentials"] if a], timeout=20)
        viewer.wait_for_timeout(1500)
        assert not cutouts(seen, 200)
        assert lit_share(panel_image(viewer)) < 0.02  # black: only the axis labels and buttons
        # The tokens bob's browser got are bob's: they read bob_lab, not alice_lab.
        for answer in [a for a in seen["credentials"] if a]:
            headers = {"Authorization": f"Bearer {answer['credentials']}"}
            mine = requests.get(f"{devboss.url}/latest/collection/bob_lab/", headers=headers, timeout=10)
            hers = requests.get(f"{devboss.url}/latest/collection/alice_lab/", headers=headers, timeout=10)
            assert (mine.status_code, hers.status_code) in ((200, 403), (401, 401))  # 401: expired by a refresh
    finally:
        bob.close()


# --- The page-level warning (no browser) -----------------------------------------------------------------

def _logged_in(client, devboss, username):
    user = get_user_model().objects.create_user(username, f"{username}@example.org")
    login_token(user, devboss, username)
    client.force_login(user)
    return user


def test_a_viewer_elsewhere_gets_a_warning_on_private_experiments_only(site, settings, client, devboss):
    settings.NDVIZ_URL = "https://viz.boss.neurodata.io/"
    settings.NDVIZ_PRIVATE_DATA = False
    _logged_in(client, devboss, "alice")
    html = client.get(EXPERIMENT).content.decode()
    assert html.count('class="notice notice-warn viewer-warning"') == 1
    assert "Neuroglancer can't show this private data" in html and "viz.boss.neurodata.io" in html
    assert "Neuroglancer viewer (ndviz)" in html
    assert "viewer-warning" not in client.get("/c/demo/cortex/").content.decode()


def test_the_local_viewer_needs_no_warning(site, client, devboss):
    _logged_in(client, devboss, "alice")
    assert "viewer-warning" not in client.get(EXPERIMENT).content.decode()
