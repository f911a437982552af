"""Cutout GETs through intern itself and through raw requests (boss-api.md section 5), checked voxel for
voxel against devboss.api.procedural; and volumes loaded with `load_volume` (on the devboss for tests that
write, tests/devboss/conftest.py)."""
import io
import zlib

import numpy as np
import pytest
import requests
import tifffile
from intern.resource.boss.resource import ChannelResource, CoordinateFrameResource
from PIL import Image

from devboss import procs
from devboss.api import procedural

EM = ChannelResource("em", "demo", "cortex", type="image", datatype="uint8")
FLUO = ChannelResource("fluo", "demo", "cortex", type="image", datatype="uint16")
SEG = ChannelResource("seg", "demo", "cortex", type="annotation", datatype="uint64")
CALCIUM = ChannelResource("calcium", "demo", "timelapse", type="image", datatype="uint16")


def expected(key, datatype, kind, level, x, y, z, t=(0, 1)):
    return procedural.cutout(key, datatype, kind, level, tuple(x), tuple(y), tuple(z), tuple(t))


def cutout_url(devboss, path):
    return f"{devboss.url}/v1/cutout/{path}/"


@pytest.mark.parametrize("channel", [EM, FLUO, SEG], ids=["uint8", "uint16", "uint64"])
@pytest.mark.parametrize("level", [0, 1, 2])
def test_intern_gets_cutouts_equal_to_the_procedural_voxels(devboss, channel, level):
    x, y, z = [100, 420], [37, 300], [110, 126]
    arr = devboss.remote().get_cutout(channel, level, x, y, z, parallel=False)
    key = f"demo/cortex/{channel.name}"
    want = expected(key, channel.datatype, channel.type, level, x, y, z)[0]
    assert arr.dtype == np.dtype(channel.datatype)
    assert arr.shape == (16, 263, 320)
    assert np.array_equal(arr, want)


def test_the_uint64_cutout_holds_ids_above_2_to_the_32(devboss):
    arr = devboss.remote().get_cutout(SEG, 1, [0, 1024], [0, 1024], [100, 132], parallel=False)
    assert (arr > 2**32).any()
    assert np.array_equal(arr, expected("demo/cortex/seg", "uint64", "annotation", 1, [0, 1024], [0, 1024], [100, 132])[0])


def test_intern_gets_a_cutout_spanning_many_cuboids_in_one_request(devboss):
    x, y, z = [300, 1800], [200, 1500], [103, 130]  # 3x3 cuboids in x/y, 3 in z; 52.6 M voxels
    arr = devboss.remote().get_cutout(EM, 0, x, y, z, parallel=False)
    assert arr.shape == (27, 1300, 1500)
    assert np.array_equal(arr, expected("demo/cortex/em", "uint8", "image", 0, x, y, z)[0])


def test_intern_gets_a_time_range_as_a_4d_array(devboss):
    x, y, z, t = [0, 200], [50, 150], [4, 12], [3, 7]
    arr = devboss.remote().get_cutout(CALCIUM, 1, x, y, z, time_range=t, parallel=False)
    assert arr.shape == (4, 8, 100, 200)
    assert np.array_equal(arr, expected("demo/timelapse/calcium", "uint16", "image", 1, x, y, z, t))
    assert not np.array_equal(arr[0], arr[1])


def test_the_frame_starts_at_z_100(devboss):
    arr = devboss.remote().get_cutout(EM, 3, [0, 256], [0, 256], [100, 101], parallel=False)
    assert np.array_equal(arr, expected("demo/cortex/em", "uint8", "image", 3, [0, 256], [0, 256], [100, 101])[0])
    last = devboss.remote().get_cutout(EM, 0, [0, 16], [0, 16], [227, 228], parallel=False)
    assert last.shape == (1, 16, 16)


def test_alice_reads_her_private_channel_and_others_cannot(devboss):
    channel = ChannelResource("em", "alice_lab", "private_exp", type="image", datatype="uint8")
    arr = devboss.remote(devboss.token("alice")).get_cutout(channel, 0, [0, 64], [0, 64], [0, 4], parallel=False)
    assert np.array_equal(arr, expected("alice_lab/private_exp/em", "uint8", "image", 0, [0, 64], [0, 64], [0, 4])[0])
    for token in ("public", devboss.token("bob")):
        with pytest.raises(requests.HTTPError) as info:
            devboss.remote(token).get_cutout(channel, 0, [0, 64], [0, 64], [0, 4], parallel=False)
        assert info.value.response.status_code == 403
        assert info.value.response.json()["code"] == 3001


def test_it_answers_npygz_as_zlib_wrapped_npy(devboss):
    response = requests.get(
        cutout_url(devboss, "demo/cortex/fluo/1/0:512/0:512/100:116"), headers={"Accept": "application/npygz"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/npygz"
    assert response.content[:2] == b"\x78\x01" or response.content[0] == 0x78
    raw = zlib.decompress(response.content)
    assert raw[:6] == b"\x93NUMPY" and raw[6] == 1  # NPY v1.0, which neuroglancer needs
    arr = np.load(io.BytesIO(raw), allow_pickle=False)
    assert arr.dtype == np.dtype("<u2") and arr.shape == (16, 512, 512)
    assert np.array_equal(arr, expected("demo/cortex/fluo", "uint16", "image", 1, [0, 512], [0, 512], [100, 116])[0])


def test_it_answers_jpeg_as_z_slices_stacked_vertically(devboss):
    response = requests.get(cutout_url(devboss, "demo/cortex/em/0/0:300/0:200/100:104"), headers={"Accept": "image/jpeg"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "L" and image.size == (300, 800)
    got = np.asarray(image).reshape(4, 200, 300).astype(int)
    want = expected("demo/cortex/em", "uint8", "image", 0, [0, 300], [0, 200], [100, 104])[0].astype(int)
    assert np.abs(got - want).mean() < 3  # lossy, quality 85


def test_it_answers_blosc_for_any_accept_and_for_none(devboss):
    import blosc

    want = expected("demo/cortex/em", "uint8", "image", 0, [0, 64], [0, 32], [100, 102])[0]
    for accept in ("*/*", None, "application/blosc"):
        headers = {"Accept": accept} if accept else {}
        session = requests.Session()
        if accept is None:
            session.headers.pop("Accept", None)
        response = session.get(cutout_url(devboss, "demo/cortex/em/0/0:64/0:32/100:102"), headers=headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/blosc"
        assert response.content[3] == 8  # typesize in bits, as BOSS sends it
        arr = np.frombuffer(blosc.decompress(response.content), np.uint8).reshape(want.shape)
        assert np.array_equal(arr, want)


def test_it_answers_json_cutouts_with_a_500_page_as_boss_does(devboss):
    """The real BOSS's JSON renderer can't serialise the array (real-boss.md 10)."""
    response = requests.get(cutout_url(devboss, "demo/cortex/seg/0/0:40/0:30/100:102"), headers={"Accept": "application/json"})
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/html")


def test_it_filters_annotation_ids(devboss):
    url = cutout_url(devboss, "demo/cortex/seg/2/0:512/0:512/100:132")
    full = expected("demo/cortex/seg", "uint64", "annotation", 2, [0, 512], [0, 512], [100, 132])[0]
    keep = [int(i) for i in np.unique(full)[1:4]]
    response = requests.get(url, params={"filter": ",".join(map(str, keep))}, headers={"Accept": "application/npygz"})
    arr = np.load(io.BytesIO(zlib.decompress(response.content)))
    assert set(np.unique(arr)) == {0, *keep}
    assert np.array_equal(arr, np.where(np.isin(full, keep), full, 0))


def test_latest_is_an_alias_and_window_and_access_mode_are_ignored(devboss):
    response = requests.get(
        f"{devboss.url}/latest/cutout/demo/cortex/em/0/0:512/0:512/100:116/?window=0,100&access-mode=no-cache",
        headers={"Accept": "image/jpeg"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_it_counts_cutouts_per_channel(devboss):
    before = requests.get(f"{devboss.url}/devboss/stats").json()["cutouts"].get("demo/large/em", 0)
    for _ in range(3):
        requests.get(cutout_url(devboss, "demo/large/em/4/0:16/0:16/0:1")).raise_for_status()
    after = requests.get(f"{devboss.url}/devboss/stats").json()
    assert after["cutouts"]["demo/large/em"] == before + 3
    assert after["total"] >= 3


# ---- load_volume, on the devboss for tests that write (it adds a collection) -----------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, writable_devboss):
    root = tmp_path_factory.mktemp("devboss-load")
    server = writable_devboss
    rng = np.random.default_rng(7)
    volume = rng.integers(0, 255, size=(20, 300, 700), dtype=np.uint8)
    np.save(root / "vol.npy", volume)
    stack = rng.integers(0, 65535, size=(6, 128, 96), dtype=np.uint16)
    tifffile.imwrite(root / "stack.tif", stack, photometric="minisblack")
    folder = root / "slices"
    folder.mkdir()
    labels = np.zeros((4, 64, 80), dtype=np.uint64)
    labels[1:3, 10:20, 30:41] = 2**40 + 5
    for i, plane in enumerate(labels):
        tifffile.imwrite(folder / f"z{i:03d}.tif", plane, photometric="minisblack")
    for args in (
        ["loaded", "npy", "em", str(root / "vol.npy"), "--public", "--levels", "3"],
        ["loaded", "tiff", "fluo", str(root / "stack.tif"), "--public", "--voxel-size", "1,1,2", "--unit", "micrometers"],
        ["loaded", "folder", "seg", str(folder), "--public"],
    ):
        procs.run_devboss_command(["load_volume", *args], server.env, capture=True)
    return server, {"em": volume, "fluo": stack, "seg": labels}


def test_it_serves_a_loaded_npy_volume_at_every_level(loaded):
    server, data = loaded
    channel = ChannelResource("em", "loaded", "npy", type="image", datatype="uint8")
    rmt = server.remote()
    assert np.array_equal(rmt.get_cutout(channel, 0, [0, 700], [0, 300], [0, 20], parallel=False), data["em"])
    assert np.array_equal(rmt.get_cutout(channel, 2, [0, 175], [0, 75], [0, 20], parallel=False), data["em"][:, ::4, ::4])
    assert np.array_equal(rmt.get_cutout(channel, 1, [100, 350], [20, 150], [5, 9], parallel=False),
                          data["em"][5:9, 40:300:2, 200:700:2])


def test_it_serves_a_loaded_tiff_stack(loaded):
    server, data = loaded
    channel = ChannelResource("fluo", "loaded", "tiff", type="image", datatype="uint16")
    assert np.array_equal(server.remote().get_cutout(channel, 0, [0, 96], [0, 128], [0, 6], parallel=False), data["fluo"])
    experiment = server.remote().get_experiment("loaded", "tiff")
    frame = server.remote().get_project(CoordinateFrameResource(experiment.coord_frame))
    assert (frame.x_voxel_size, frame.z_voxel_size, frame.voxel_unit) == (1.0, 2.0, "micrometers")


def test_it_serves_a_loaded_folder_of_tiffs_as_annotations(loaded):
    server, data = loaded
    channel = ChannelResource("seg", "loaded", "folder", type="annotation", datatype="uint64")
    arr = server.remote().get_cutout(channel, 0, [0, 80], [0, 64], [0, 4], parallel=False)
    assert np.array_equal(arr, data["seg"])
    box = requests.get(f"{server.url}/v1/boundingbox/loaded/folder/seg/0/{2**40 + 5}/?type=tight").json()
    assert box == {"x_range": [30, 41], "y_range": [10, 20], "z_range": [1, 3], "t_range": [0, 1]}
