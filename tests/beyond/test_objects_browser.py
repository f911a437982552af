"""In chromium: alice lists the objects in the form's box, then cuts out one of them: the form comes back
with the object's padded box and the image channels plus the segmentation."""
import re

import numpy as np
import pytest
from django.core.cache import cache

from devboss.api import procedural
from tests.auth.conftest import log_in, point_portal_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings, devboss):
    point_portal_at(settings, f"{devboss.url}/auth/realms/BOSS", devboss.url)
    cache.clear()
    yield live_server.url
    cache.clear()


def test_alice_lists_the_objects_in_the_box_and_cuts_one_out(site, page, devboss):  # noqa: F811
    page.set_default_timeout(30000)
    log_in(page, site, "alice", devboss.password("alice"))
    box = {"x": (0, 600), "y": (0, 500), "z": (100, 132)}
    data = procedural.cutout("demo/cortex/seg", "uint64", "annotation", 0, *box.values())
    ids = sorted(np.unique(data[data != 0]).tolist())
    page.goto(site + "/c/demo/cortex/cutout/?channels=em&resolution=0&x0=0&x1=600&y0=0&y1=500&z0=100&z1=132")
    page.select_option('#form-objects select[name="annotation"]', "seg")
    page.click("#form-objects .objects-button")
    page.wait_for_url(re.compile(r".*/c/demo/cortex/objects/$"))
    assert page.get_attribute("[data-count]", "data-count") == str(len(ids))
    assert [int(v) for v in page.eval_on_selector_all("li[data-object]", "els => els.map(e => e.dataset.object)")] == ids
    page.click(f'li[data-object="{ids[0]}"] a.cut-object')
    page.wait_for_url(re.compile(r".*/c/demo/cortex/cutout/\?.*"))
    (x0, x1), (y0, y1), (z0, z1) = procedural.object_box("demo/cortex/seg", ids[0], 0)
    got = [page.input_value(f'#cutout-form input[name="{n}"]') for n in ("x0", "x1", "y0", "y1", "z0", "z1")]
    assert got == [str(v) for v in (max(x0 - 16, 0), x1 + 16, max(y0 - 16, 0), y1 + 16, max(z0 - 16, 100),
                                    min(z1 + 16, 228))]
    for channel in ("em", "fluo", "seg"):
        assert page.is_checked(f'input[name="channels"][value="{channel}"]')
    assert page.is_checked('input[name="format"][value="tiff-zip"]')
    assert page.input_value('#form-objects input[name="object"]') == str(ids[0])
