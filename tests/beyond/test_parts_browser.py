"""In chromium: alice asks for a box over the cap in parts, watches the job, and downloads one part."""
import re

import numpy as np
import pytest
import tifffile
from django.core.cache import cache

from devboss.api import procedural
from tests.auth.conftest import log_in, point_portal_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def site(live_server, settings, devboss):
    point_portal_at(settings, f"{devboss.url}/auth/realms/BOSS", devboss.url)
    settings.CUTOUT_MAX_BYTES = 1024 * 1024  # 1 MiB: the 3 MiB box below is over it
    cache.clear()
    yield live_server.url
    cache.clear()


def test_alice_gets_a_box_over_the_cap_in_parts_and_downloads_one(site, page, devboss, tmp_path):
    page.set_default_timeout(30000)
    log_in(page, site, "alice", devboss.password("alice"))
    page.goto(site + "/c/demo/cortex/cutout/?channels=em&resolution=0&x0=300&x1=556&y0=1000&y1=1256&z0=100&z1=148")
    assert "over the" in page.inner_text("#size")
    page.check('input[name="parts"]')
    page.click("#submit-cutout")
    page.wait_for_url(re.compile(r".*/cutouts/[0-9a-f-]{36}/$"))
    row = page.locator("table.jobs tr[data-job]")
    row.locator(".state .badge", has_text="done").wait_for(timeout=90000)
    links = row.locator("a.part")
    assert links.count() == 4
    assert links.nth(1).get_attribute("title") == "z 112:128"
    with page.expect_download() as download:
        links.nth(1).click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert "part002" in path.name
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (300, 556), (1000, 1256), (112, 128))[0]
    np.testing.assert_array_equal(tifffile.imread(path), want)
