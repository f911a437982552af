"""In chromium: alice logs in through devboss, presses "cut out" on em, watches the size change as she types,
takes the suggested coarser level for an over-cap box, submits, watches the job finish and downloads it.

The portal runs in pytest-django's live_server; the job runs in a real Celery worker sharing the test
database file, and reads devboss as alice with the token her login stored.
"""
import os
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from django.core.cache import cache

from devboss.api import procedural
from tests.auth.conftest import log_in, point_portal_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

DOCS = Path(__file__).resolve().parents[2] / "docs"
MiB = 1024 * 1024


@pytest.fixture
def site(live_server, settings, devboss, redis_server):
    point_portal_at(settings, f"{devboss.url}/auth/realms/BOSS", devboss.url)
    settings.BOSS_PUBLIC_URL = devboss.url
    settings.CELERY_BROKER_URL = redis_server
    settings.CUTOUT_MAX_BYTES = 16 * MiB  # small, so that a few keystrokes go over it
    cache.clear()
    yield live_server.url
    cache.clear()


def size_text(page):  # noqa: F811
    return page.inner_text("#size .size-current")


def test_alice_cuts_out_a_box_and_downloads_it(site, page, devboss):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.set_default_timeout(30000)  # the OIDC round trip is slow on a loaded machine
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + "/c/demo/cortex/")
    page.click('tr[data-channel="em"] a.cutout')
    page.wait_for_url(re.compile(r".*/c/demo/cortex/cutout/\?channels=em$"))
    assert page.is_checked('input[name="channels"][value="em"]')
    assert not page.is_checked('input[name="channels"][value="fluo"]')

    # The size follows the keystrokes (form.js), before anything is sent.
    page.fill('input[name="x0"]', "0")
    page.fill('input[name="x1"]', "1024")
    page.fill('input[name="y0"]', "0")
    page.fill('input[name="y1"]', "1024")
    page.fill('input[name="z0"]', "100")
    page.fill('input[name="z1"]', "104")
    assert page.inner_text('[data-size="voxels"]') == "4,194,304"
    assert page.inner_text('[data-size="bytes"]') == "4.19 MB"
    assert page.inner_text('[data-physical="x"]') == "0 – 4,096"
    assert "over" not in size_text(page)
    page.fill('input[name="x1"]', "2048")
    assert page.inner_text('[data-size="bytes"]') == "8.39 MB"
    assert page.inner_text('[data-physical="x"]') == "0 – 8,192"

    # Over the cap: the warning names the finest level that fits, and the link rescales the box.
    page.fill('input[name="y1"]', "2048")
    page.fill('input[name="z1"]', "108")  # 2048 × 2048 × 8 = 32 MiB at level 0, 8 MiB at level 1
    assert "over the 16.8 MB cap" in size_text(page)
    assert page.locator("#size tr.current.over").count() == 1
    page.click("#size a.use-level")
    assert page.input_value('select[name="resolution"]') == "1"
    assert [page.input_value(f'input[name="{n}"]') for n in ("x0", "x1", "y0", "y1", "z0", "z1")] == \
        ["0", "1024", "0", "1024", "100", "108"]
    assert page.inner_text('[data-size="bytes"]') == "8.39 MB"
    assert "over" not in size_text(page)
    assert page.inner_text('[data-physical="x"]') == "0 – 8,192"  # the same physical box
    # The recipes (and the preview) follow a level set by the link too, not only typing.
    page.locator("pre", has_text="get_cutout(channel, 1, [0, 1024], [0, 1024], [100, 108]").first.wait_for()
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":  # README's pictures; normal runs change no tracked file
        page.screenshot(path=str(DOCS / "cutout-form.png"), full_page=True)

    # Submit, then watch the job page follow the worker until the file is there.
    page.click("#submit-cutout")
    page.wait_for_url(re.compile(r".*/cutouts/[0-9a-f-]{36}/$"))
    assert "Your cutout is queued" in page.content()
    row = page.locator("table.jobs tr[data-job]")
    row.locator(".state .badge", has_text="done").wait_for(timeout=90000)
    bar = row.locator("progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") and int(bar.get_attribute("max")) > 1
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / "cutout-job.png"), full_page=True)

    with page.expect_download() as info:
        row.locator("a.download").click()
    download = info.value
    assert download.suggested_filename == "demo_cortex_em_r1_x0-1024_y0-1024_z100-108.ome.tif"
    with tifffile.TiffFile(download.path()) as tif:
        got = tif.asarray()
        assert tif.is_ome and 'PhysicalSizeX="8.0"' in tif.ome_metadata
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 1, (0, 1024), (0, 1024), (100, 108))[0]
    np.testing.assert_array_equal(got, want)


def test_choosing_a_compression_shows_the_expected_size_before_submit(site, page, devboss):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.set_default_timeout(30000)
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + "/c/demo/cortex/cutout/?channels=em&resolution=0&x0=0&x1=1024&y0=0&y1=1024&z0=100&z1=116")
    assert page.locator("#size-compressed").count() == 0  # OME-TIFF, uncompressed by default
    page.select_option("#id_compression", "zstd")
    estimate = page.locator("#size-compressed")
    estimate.wait_for()
    text = estimate.inner_text()
    assert text.startswith("With zstd: about ") and "of it" in text, text
    assert 0 < float(estimate.get_attribute("data-ratio")) < 1
    assert page.inner_text('[data-size="bytes"]') == "16.8 MB"  # the uncompressed size stays, and the cap's
    page.check('input[name="format"][value="ome-zarr"]')
    page.select_option("#id_compression", "")
    page.locator("#size-compressed", has_text="With lz4").wait_for()
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        page.locator("#size").screenshot(path=str(DOCS / "form-compressed.png"))
