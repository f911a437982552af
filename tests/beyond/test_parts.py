"""Boxes over the web cap, delivered in parts: z slabs on cuboid boundaries, each under the cap, each
downloadable (with ranges) on its own; together exactly the box."""
import io

import numpy as np
import pytest
import tifffile

from cutouts.pipeline.plan import PartsTooLarge, part_ranges
from devboss.api import procedural
from tests.cutouts.test_jobs import wait_for
from tests.jobs import password_grant


def test_parts_are_cut_on_16_slice_boundaries_under_the_cap():
    assert part_ranges((100, 148), 64 * 1024, 1024 * 1024) == [(100, 112), (112, 128), (128, 144), (144, 148)]
    assert part_ranges((0, 64), 1, 10**9) == [(0, 64)]
    assert part_ranges((5, 200), 1000, 32 * 1000) == [(5, 32), (32, 64), (64, 96), (96, 128), (128, 160),
                                                       (160, 192), (192, 200)]


def test_a_slab_too_large_for_any_part_is_refused():
    with pytest.raises(PartsTooLarge, match="16 slices"):
        part_ranges((0, 64), 10**8, 10**9)


@pytest.mark.usefixtures("celery_worker")
def test_a_box_over_the_cap_comes_in_parts_that_together_are_the_box(client, alice, devboss, settings):
    settings.CUTOUT_MAX_BYTES = 1024 * 1024
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {password_grant(devboss, 'alice')['access_token']}"}
    box = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
           "x": [300, 556], "y": [1000, 1256], "z": [100, 148]}  # 3 MiB: over the 1 MiB cap
    refused = client.post("/api/cutouts/", box, content_type="application/json", **bearer)
    assert refused.status_code == 400 and "in parts" in refused.json()["errors"]["size"]

    response = client.post("/api/cutouts/", {**box, "parts": True}, content_type="application/json", **bearer)
    assert response.status_code == 202, response.content
    from cutouts.models import CutoutJob

    job = wait_for(CutoutJob.objects.get(pk=response.json()["id"]))
    assert job.state == "done", job.error
    state = client.get(f"/api/cutouts/{job.pk}/", **bearer).json()
    parts = state["result"]["parts"]
    assert [p["z"] for p in parts] == [[100, 112], [112, 128], [128, 144], [144, 148]]
    assert all(p["size"] <= 1024 * 1024 + 64 * 1024 for p in parts)  # the data under the cap, plus headers
    slabs = []
    for p in parts:
        got = client.get(p["download"], **bearer)
        assert got.status_code == 200
        content = b"".join(got.streaming_content)
        assert len(content) == p["size"]
        ranged = client.get(p["download"], HTTP_RANGE="bytes=0-99", **bearer)
        assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == content[:100]
        slabs.append(tifffile.imread(io.BytesIO(content)))
    want = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (300, 556), (1000, 1256), (100, 148))[0]
    np.testing.assert_array_equal(np.concatenate(slabs), want)
    assert client.get(f"/api/cutouts/{job.pk}/parts/9", **bearer).status_code == 404

    client.force_login(alice)
    page = client.get(f"/cutouts/{job.pk}/").content.decode()
    assert page.count('download part"') == 4
    assert client.get(f"/cutouts/{job.pk}/parts/2").status_code == 200
