"""In chromium: alice pastes a viewer link and gets the filled form with its preview; shares the box and
opens the short link; opens a public viewer link."""
import re
from types import SimpleNamespace

import pytest

from portal import ngstate
from portal.boss.client import CoordFrame
from tests.auth.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CORTEX = CoordFrame("cortex_frame", "", 0, 2048, 0, 2048, 100, 228, 4.0, 4.0, 40.0, "nanometers")


def value(page, name):
    return page.input_value(f'#cutout-form input[name="{name}"]')


def test_alice_pastes_a_viewer_link_and_sees_the_filled_form_and_preview(site, page, devboss):  # noqa: F811
    page.set_default_timeout(30000)
    log_in(page, site, "alice", devboss.password("alice"))
    url = ngstate.viewer_url("demo", "cortex", [SimpleNamespace(name="fluo", type="image")], CORTEX,
                             ndviz_url="https://viewer.example.org/", boss_url="https://boss.example.org",
                             box=((512, 1024), (256, 768), (120, 140)))
    page.goto(site + "/cutouts/from-viewer/")
    page.fill("#id_viewer_url", url)
    page.click("#paste-submit")
    page.wait_for_url(re.compile(r".*/c/demo/cortex/cutout/\?.*"))
    assert [value(page, n) for n in ("x0", "x1", "y0", "y1", "z0", "z1")] == ["512", "1024", "256", "768", "120", "140"]
    assert page.is_checked('input[name="channels"][value="fluo"]')
    # The preview is the whole section with the box drawn over it (an SVG rectangle in the voxels of the preview's level).
    rect = page.locator("#preview-draw rect[data-box]")
    rect.wait_for()
    assert [rect.get_attribute(k) for k in ("x", "y", "width", "height")] == ["128", "64", "128", "128"]  # level 2
    assert "[512, 1024], [256, 768], [120, 140]" in page.inner_text("#form-recipes")
    picture = page.locator("#preview-draw image").get_attribute("href")
    # Typing a new box moves the rectangle and refreshes the recipes; the picture stays (no BOSS request).
    page.fill('#cutout-form input[name="x1"]', "600")
    page.wait_for_function("() => document.querySelector('#preview-draw rect[data-box]').getAttribute('width') === '22'")
    page.wait_for_function("() => document.getElementById('form-recipes').innerText.indexOf('[512, 600]') > 0")
    assert page.locator("#preview-draw image").get_attribute("href") == picture


def test_alice_shares_a_box_and_a_view_and_opens_the_links(site, page, devboss, settings):  # noqa: F811
    page.set_default_timeout(30000)
    settings.NDVIZ_URL = site + "/healthz"  # any page of ours: we only look at where the link leads
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + "/c/demo/cortex/cutout/?channels=em&resolution=1&x0=10&x1=20&y0=30&y1=40&z0=100&z1=110")
    page.fill('#cutout-form input[name="x1"]', "25")
    page.click(".form-share .share-button")
    page.wait_for_url(re.compile(r".*/s/#link-.*"))
    short = page.locator("a.short-link").first.get_attribute("href")
    page.goto(short)
    page.wait_for_url(re.compile(r".*/c/demo/cortex/cutout/\?.*"))
    assert [value(page, n) for n in ("x0", "x1", "y1", "z1")] == ["10", "25", "40", "110"]
    assert page.input_value('#cutout-form select[name="resolution"]') == "1"

    page.goto(site + "/c/demo/cortex/")
    page.check('form.share input[name="public"]')
    page.click("form.share .share-button")
    page.wait_for_url(re.compile(r".*/s/#link-.*"))
    viewer = page.locator("a.short-link").first.get_attribute("href")
    slug = viewer.rsplit("/", 1)[1]
    page.goto(viewer)
    assert page.url == f"{site}/healthz#!{site}/s/{slug}.json"
    state = page.request.get(f"{site}/s/{slug}.json")
    assert state.headers["access-control-allow-origin"] == "*"
    assert state.json()["layers"][0]["source"].startswith("boss://")
