"""zarr-python reads BOSS channels through the Zarr view, voxel for voxel what intern's get_cutout reads."""
import json
import threading

import numpy as np
import pytest
import requests
from intern.resource.boss.resource import ChannelResource

from tests.zarrview.conftest import devboss_stats, make_link, open_group, public_url

pytestmark = pytest.mark.django_db(transaction=True)


def boss_box(devboss, token, c, e, ch, dtype, r, x, y, z, t=None):
    kwargs = {"time_range": list(t)} if t else {}
    return devboss.remote(token).get_cutout(ChannelResource(ch, c, e, datatype=dtype), r, list(x), list(y), list(z),
                                            parallel=False, **kwargs)


def read_box(array, origin, x, y, z, t=None):
    """array[[t], z, y, x] of a BOSS box, the array starting at `origin` (x, y, z)."""
    ox, oy, oz = origin
    space = (slice(z[0] - oz, z[1] - oz), slice(y[0] - oy, y[1] - oy), slice(x[0] - ox, x[1] - ox))
    return array[((slice(*t),) if t else ()) + space]


def test_a_public_channel_reads_like_intern_at_every_level_and_edge(site, devboss):
    image = open_group(public_url(site, "demo", "cortex", "em"))
    datasets = image.attrs["multiscales"][0]["datasets"]
    assert [d["path"] for d in datasets] == ["0", "1", "2", "3"]
    assert image["0"].shape == (128, 2048, 2048) and image["0"].chunks == (16, 512, 512)
    assert image["3"].shape == (128, 256, 256) and image["3"].chunks == (16, 256, 256)
    boxes = [  # (level, x, y, z): inside, across chunk edges, at the frame's far edges
        (0, (500, 530), (1000, 1030), (110, 130)),
        (0, (2040, 2048), (0, 9), (220, 228)),
        (1, (0, 600), (1020, 1024), (100, 101)),
        (3, (250, 256), (0, 256), (200, 228)),
    ]
    for r, x, y, z in boxes:
        got = read_box(image[str(r)], (0, 0, 100), x, y, z)
        want = boss_box(devboss, "public", "demo", "cortex", "em", "uint8", r, x, y, z)
        assert got.dtype == np.uint8 and np.array_equal(got, want), (r, x, y, z)


def test_time_is_the_first_axis_and_a_time_range_reads_like_intern(site, devboss):
    image = open_group(public_url(site, "demo", "timelapse", "calcium"))
    axes = image.attrs["multiscales"][0]["axes"]
    assert [a["name"] for a in axes] == ["t", "z", "y", "x"]
    assert axes[0] == {"name": "t", "type": "time", "unit": "second"} and axes[1]["unit"] == "micrometer"
    scale = image.attrs["multiscales"][0]["datasets"][1]["coordinateTransformations"][0]["scale"]
    assert scale == [2.0, 2.0, 1.0, 1.0]  # time step 2 s; level 1: 1 µm in x and y, z 2 µm
    assert image["0"].shape == (10, 32, 512, 512) and image["0"].chunks == (1, 16, 512, 512)
    got = read_box(image["1"], (0, 0, 0), (100, 256), (0, 40), (10, 20), t=(3, 7))
    want = boss_box(devboss, "public", "demo", "timelapse", "calcium", "uint16", 1, (100, 256), (0, 40), (10, 20),
                    t=(3, 7))
    assert got.shape == (4, 10, 40, 156) and np.array_equal(got, want)


def test_a_private_channel_reads_through_its_owners_link_with_labels(site, devboss, alice):
    _, secret = make_link(alice, "mine")
    url = f"{site}/zarr/{secret}/alice_lab/private_exp/em.ome.zarr/"
    image = open_group(url)
    got = read_box(image["2"], (0, 0, 0), (0, 256), (100, 200), (30, 50))
    want = boss_box(devboss, devboss.token("alice"), "alice_lab", "private_exp", "em", "uint8", 2, (0, 256),
                    (100, 200), (30, 50))
    assert np.array_equal(got, want)
    assert image["labels"].attrs["labels"] == ["seg"]
    seg = image["labels/seg"]
    assert seg.attrs["image-label"]["source"] == {"image": "../../"}
    got = read_box(seg["0"], (0, 0, 0), (0, 512), (200, 456), (10, 26))
    want = boss_box(devboss, devboss.token("alice"), "alice_lab", "private_exp", "seg", "uint64", 0, (0, 512),
                    (200, 456), (10, 26))
    assert got.dtype == np.uint64 and np.array_equal(got, want) and want.any()
    # The same channel has no public URL: the public token can't read it.
    assert requests.get(public_url(site, "alice_lab", "private_exp", "em") + ".zattrs", timeout=30).status_code == 403


def test_the_metadata_validates_with_ome_zarr_and_places_the_frame(site):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Reader
    from ome_zarr_models.v04.image import Image
    from ome_zarr_models.v04.image_label import ImageLabelAttrs

    url = public_url(site, "demo", "cortex", "em")
    nodes = list(Reader(parse_url(url))())
    assert nodes[0].metadata["axes"][0]["name"] == "z" and len(nodes[0].data) == 4
    assert any(isinstance(spec, Label) for node in nodes for spec in node.specs)  # labels/seg, napari's Labels
    Image.from_zarr(open_group(url))  # attributes and arrays, against the NGFF 0.4 models
    seg = requests.get(public_url(site, "demo", "cortex", "seg") + ".zattrs", timeout=30).json()
    ImageLabelAttrs.model_validate(seg)
    # realboss/offset: x starts at 1000, y at 600; level 1 is served from the level-0 start on (behaviour 2).
    offset = requests.get(public_url(site, "realboss", "offset", "em") + ".zattrs", timeout=30).json()
    datasets = offset["multiscales"][0]["datasets"]
    assert [d["path"] for d in datasets] == ["0", "1"]
    assert datasets[0]["coordinateTransformations"][1]["translation"] == [0.0, 2400.0, 4000.0]
    # level 1 (8 nm in x, y) starts at voxel 1000 in x (8000 nm), shifted by half a voxel minus half of level 0's
    assert datasets[1]["coordinateTransformations"][1]["translation"] == [0.0, 600 * 8 + 2.0, 1000 * 8 + 2.0]
    zarray = requests.get(public_url(site, "realboss", "offset", "em") + "1/.zarray", timeout=30).json()
    assert zarray["shape"] == [64, 1324 - 600, 1524 - 1000]


def test_ten_readers_of_a_cold_public_chunk_cost_boss_one_read(site, devboss):
    chunk = public_url(site, "demo", "large", "em") + "0/3/2/1"
    devboss_stats(devboss, reset=True)
    answers = []

    def read():
        answers.append(requests.get(chunk, timeout=60))

    threads = [threading.Thread(target=read) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 10
    assert len({a.content for a in answers}) == 1
    assert sorted(a.headers["X-Zarr-Cache"] for a in answers).count("miss") == 1
    assert devboss_stats(devboss) == {"demo/large/em": 1}
    first = answers[0]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = requests.get(chunk, headers={"If-None-Match": first.headers["ETag"]}, timeout=60)
    assert again.status_code == 304 and devboss_stats(devboss) == {"demo/large/em": 1}


def test_the_experiment_json_lists_each_channels_zarr_url(site):
    body = requests.get(f"{site}/c/demo/cortex/?format=json", timeout=30).json()
    urls = {ch["name"]: ch["zarr_url"] for ch in body["channels"]}
    assert urls == {name: public_url(site, "demo", "cortex", name) for name in ("em", "fluo", "seg")}
    root = requests.get(urls["em"], timeout=30).json()
    assert root["levels"]["0"]["shape"] == [128, 2048, 2048] and root["labels"] == ["seg"]
    assert json.loads(requests.get(urls["em"] + ".zmetadata", timeout=30).text)["metadata"]["0/.zarray"]["chunks"] \
        == [16, 512, 512]
