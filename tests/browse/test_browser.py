"""In chromium: an anonymous visitor walks /c/ → demo → cortex, then opens channels in the local Neuroglancer.

The portal runs in pytest-django's live_server and reads the session devboss over HTTP; viewer links point
at a second devboss process over HTTPS (Neuroglancer's boss:// source needs https), whose access log
shows which cutouts the viewer fetched.
"""
import io
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from django.core.cache import cache


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def site(live_server, settings, devboss, https_devboss):
    settings.BOSS_URL = devboss.url
    settings.BOSS_PUBLIC_URL = https_devboss.url
    settings.NDVIZ_URL = https_devboss.ndviz_url
    cache.clear()
    yield live_server.url
    cache.clear()


def cells(page, selector):
    return [c.strip() for c in page.locator(selector).all_inner_texts()]


def test_an_anonymous_visitor_walks_to_the_experiment(site, page):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site + "/c/")
    assert page.title() == "Collections · BOSS portal"
    assert page.locator("table.collections").inner_text().count("demo") >= 1
    assert "alice_lab" not in page.content()
    # A click only starts the navigation: wait for the new page before reading it.
    page.get_by_role("link", name="demo", exact=True).click()
    page.wait_for_url(site + "/c/demo/")
    page.wait_for_load_state()
    assert page.title() == "demo · Collections · BOSS portal"
    cortex = page.locator('tr[data-experiment="cortex"]').inner_text()
    assert "2048 × 2048 × 128 voxels" in cortex and "4 × 4 × 40 nm" in cortex
    page.get_by_role("link", name="cortex", exact=True).click()
    page.wait_for_url(site + "/c/demo/cortex/")
    page.wait_for_load_state()
    assert page.title() == "demo / cortex · BOSS portal"
    assert " ".join(page.locator("nav.breadcrumbs").inner_text().split()).startswith("Catalogue › Collections › demo › cortex")
    assert cells(page, 'tr[data-axis="x"] td') == ["x", "0", "2048", "2048", "4 nm", "8192"]
    assert cells(page, 'tr[data-axis="y"] td') == ["y", "0", "2048", "2048", "4 nm", "8192"]
    assert cells(page, 'tr[data-axis="z"] td') == ["z", "100", "228", "128", "40 nm", "5120"]
    assert page.locator("tr[data-level]").count() == 4
    assert cells(page, 'tr[data-level="3"] td')[:3] == ["3", "32 × 32 × 40", "256 × 256 × 128"]
    rows = {name: cells(page, f'tr[data-channel="{name}"] td')[:3] for name in ("em", "fluo", "seg")}
    assert rows == {"em": ["em", "image", "uint8"], "fluo": ["fluo", "image", "uint16"],
                    "seg": ["seg", "annotation", "uint64"]}
    assert page.get_attribute('tr[data-channel="em"] a.cutout', "href") == "/c/demo/cortex/cutout/?channels=em"
    shot = DOCS / "experiment-page.png"
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") or not shot.exists():  # don't dirty the tree on every run
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    # Recently opened: demo now comes first on /c/.
    page.goto(site + "/c/")
    assert "recent" in page.locator('table.collections tbody tr').first.inner_text()


def served_cutouts(access_log, start, channel):
    """Paths of 200-answered cutouts of demo/cortex/<channel> logged after byte `start`."""
    with open(access_log, "rb") as f:
        f.seek(start)
        lines = f.read().decode(errors="replace").splitlines()
    pattern = re.compile(rf'"GET (/latest/cutout/demo/cortex/{channel}/\S+) HTTP/1\.1" 200 ')
    return [m.group(1) for m in map(pattern.search, lines) if m]


def panel_image(page):  # noqa: F811
    from PIL import Image

    png = page.locator(".neuroglancer-rendered-data-panel").first.screenshot()
    return Image.open(io.BytesIO(png)).convert("RGB")


def has_texture(image):
    """Greyscale data drawn: many distinct grey levels (a flat background has one)."""
    grey = np.asarray(image.convert("L"))
    return len(np.unique(grey)) > 30 and grey.max() > 40 and grey.std() > 5


def has_segments(image):
    """Segments drawn: a good number of saturated (coloured) pixels."""
    rgb = np.asarray(image).astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum()) > 500


def open_viewer(site, page, https_devboss, channel):  # noqa: F811
    page.goto(site + "/c/demo/cortex/")
    link = page.get_attribute(f'tr[data-channel="{channel}"] a.viewer', "href")
    assert link.startswith(https_devboss.ndviz_url + "#!")
    state = json.loads(unquote(link.partition("#!")[2]))
    start = https_devboss.access_log.stat().st_size if https_devboss.access_log.exists() else 0
    viewer = page.context.new_page()
    viewer.set_viewport_size({"width": 1200, "height": 900})
    viewer.goto(link)
    return viewer, state, start


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


def test_the_em_viewer_link_draws_the_channel(site, page, https_devboss):  # noqa: F811
    viewer, state, start = open_viewer(site, page, https_devboss, "em")
    assert state["layers"] == [{"type": "image", "name": "em", "source": f"boss://{https_devboss.url}/demo/cortex/em"}]
    assert wait_for(lambda: served_cutouts(https_devboss.access_log, start, "em"))
    assert wait_for(lambda: has_texture(panel_image(viewer))), "the xy panel shows no image data"
    assert "Disconnected" not in viewer.locator("body").inner_text()


def test_the_segmentation_viewer_link_draws_segments(site, page, https_devboss):  # noqa: F811
    viewer, state, start = open_viewer(site, page, https_devboss, "seg")
    assert state["layers"] == [{"type": "segmentation", "name": "seg",
                                "source": f"boss://{https_devboss.url}/demo/cortex/seg?encoding=npz"}]
    assert wait_for(lambda: served_cutouts(https_devboss.access_log, start, "seg"))
    # The demo segmentation has no object at the frame's centre slice (z=164): step 8 slices up, like a user.
    box = viewer.locator(".neuroglancer-rendered-data-panel").first.bounding_box()
    viewer.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(8):
        viewer.keyboard.press("Period")
    assert wait_for(lambda: has_segments(panel_image(viewer))), "the xy panel shows no segments"
