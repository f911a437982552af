"""Object services on annotation channels: ids, boundingbox, reserve (boss-api.md section 8)."""
import numpy as np
import pytest
import requests
from intern.resource.boss.resource import ChannelResource

from devboss.api import procedural

SEG = ChannelResource("seg", "demo", "cortex", type="annotation", datatype="uint64")
ALICE_SEG = ChannelResource("seg", "alice_lab", "private_exp", type="annotation", datatype="uint64")


def seg(level, x, y, z):
    return procedural.cutout("demo/cortex/seg", "uint64", "annotation", level, x, y, z)[0]


def test_ids_need_read_volumetric_data_even_on_public_channels(devboss):
    with pytest.raises(requests.HTTPError) as info:
        devboss.remote().get_ids_in_region(SEG, 0, [0, 512], [0, 512], [100, 116])
    assert info.value.response.status_code == 403


def test_ids_lists_the_objects_in_a_region(devboss):
    want = sorted(int(i) for i in np.unique(seg(1, (0, 600), (0, 600), (100, 140))) if i)
    got = devboss.remote(devboss.token("admin")).get_ids_in_region(SEG, 1, [0, 600], [0, 600], [100, 140])
    assert sorted(got) == want
    assert any(i > 2**32 for i in got)
    raw = requests.get(
        f"{devboss.url}/v1/ids/demo/cortex/seg/1/0:600/0:600/100:140/0:1/",
        headers={"Authorization": f"Token {devboss.token('admin')}"},
    ).json()
    assert all(isinstance(i, str) for i in raw["ids"]) and "0" not in raw["ids"]


def test_alice_lists_ids_in_her_channel(devboss):
    got = devboss.remote(devboss.token("alice")).get_ids_in_region(ALICE_SEG, 0, [0, 512], [0, 512], [0, 32])
    want = np.unique(procedural.cutout("alice_lab/private_exp/seg", "uint64", "annotation", 0, (0, 512), (0, 512), (0, 32)))
    assert sorted(got) == [int(i) for i in want if i]


def test_ids_refuses_an_image_channel(devboss):
    response = requests.get(
        f"{devboss.url}/v1/ids/demo/cortex/em/0/0:10/0:10/100:110/0:1/",
        headers={"Authorization": f"Token {devboss.token('admin')}"},
    )
    assert response.status_code == 400 and response.json()["code"] == 2003


@pytest.mark.parametrize("level", [0, 2])
def test_the_tight_bounding_box_is_exact(devboss, level):
    s = 2**level
    region = seg(level, (0, 1024 // s), (0, 1024 // s), (100, 164))
    obj_id = int(np.unique(region)[3])
    zs, ys, xs = np.nonzero(region == obj_id)
    box = devboss.remote().get_bounding_box(SEG, level, obj_id, "tight")
    assert box == {
        "x_range": [int(xs.min()), int(xs.max()) + 1],
        "y_range": [int(ys.min()), int(ys.max()) + 1],
        "z_range": [int(zs.min()) + 100, int(zs.max()) + 101],
        "t_range": [0, 1],
    }


def test_the_loose_bounding_box_is_cuboid_aligned(devboss):
    region = seg(0, (0, 1024), (0, 1024), (100, 164))
    obj_id = int(np.unique(region)[2])
    tight = devboss.remote().get_bounding_box(SEG, 0, obj_id, "tight")
    loose = devboss.remote().get_bounding_box(SEG, 0, obj_id, "loose")
    for axis, size in (("x_range", 512), ("y_range", 512), ("z_range", 16)):
        assert loose[axis][0] % size == 0 and loose[axis][1] % size == 0
        assert loose[axis][0] <= tight[axis][0] and tight[axis][1] <= loose[axis][1]


@pytest.mark.parametrize("query,status,code", [
    ("5/?type=tight", 404, 4004),
    ("18446744073709551615/", 404, 4004),
    ("5/?type=wobbly", 400, 1005),
])
def test_bounding_box_errors(devboss, query, status, code):
    response = requests.get(f"{devboss.url}/v1/boundingbox/demo/cortex/seg/0/{query}")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_bounding_box_of_an_id_that_is_not_a_number_is_an_html_404(devboss):
    response = requests.get(f"{devboss.url}/v1/boundingbox/demo/cortex/seg/0/abc/")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")


def test_reserve_hands_out_sequential_ids_never_reused(devboss):
    rmt = devboss.remote(devboss.token("admin"))
    first = rmt.reserve_ids(SEG, 10)
    second = rmt.reserve_ids(SEG, 5)
    assert second == first + 10
    assert first > 2**33 - 1  # above every procedural object id
    raw = requests.get(
        f"{devboss.url}/v1/reserve/demo/cortex/seg/3", headers={"Authorization": f"Token {devboss.token('admin')}"}
    ).json()
    assert raw == {"start_id": second + 5, "count": "3"}


def test_reserve_needs_add_volumetric_data(devboss):
    response = requests.get(f"{devboss.url}/v1/reserve/demo/cortex/seg/3")
    assert response.status_code == 403
    response = requests.get(
        f"{devboss.url}/v1/reserve/demo/cortex/em/3", headers={"Authorization": f"Token {devboss.token('admin')}"}
    )
    assert response.status_code == 400 and response.json()["code"] == 2003
