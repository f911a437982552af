"""OME-Zarr (zip) output: a real worker fetches from devboss over HTTP and writes NGFF 0.4 that zarr and
ome-zarr's reader open, with the procedural voxels, the voxel size and units of the level."""
import json
import time
import zipfile

import numpy as np
import pytest
import zarr

from cutouts import service
from cutouts.validation import CutoutInvalid, validate
from devboss.api import procedural

pytestmark = pytest.mark.usefixtures("celery_worker")


def wait_for(job, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job stayed {job.state}: {job.error}")


def expected(ch, datatype, kind, level, x, y, z):
    return procedural.cutout(f"demo/cortex/{ch}", datatype, kind, level, x, y, z)[0]


def submit(user, **request):
    return service.submit(validate(user, {"collection": "demo", "experiment": "cortex", "format": "ome-zarr",
                                          **request}))


def open_zip(path):
    return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r", zarr_format=2)


def test_an_image_and_its_labels_come_back_voxel_for_voxel_with_the_level_s_scale(alice):
    # Off the cuboid grid on every axis, and over 256 level-1 voxels in x and y: the extra level takes two
    # DOWNSAMPLE_TILE tiles each way.
    x, y, z = (300, 900), (200, 720), (110, 130)
    job = wait_for(submit(alice, channels=["em", "seg"], resolution=0, x=list(x), y=list(y), z=list(z)))
    assert job.state == "done", job.error
    assert job.result_name.endswith(".ome.zarr.zip") and job.blocks_total > 2
    root = open_zip(job.result_path)
    ms = root.attrs["multiscales"][0]
    assert ms["version"] == "0.4"
    assert [a["name"] for a in ms["axes"]] == ["z", "y", "x"]
    assert {a.get("unit") for a in ms["axes"]} == {"nanometer"}
    scale, translation = ms["datasets"][0]["coordinateTransformations"]
    assert scale == {"type": "scale", "scale": [40.0, 4.0, 4.0]}
    assert translation["translation"] == [110 * 40.0, 200 * 4.0, 300 * 4.0]
    assert ms["datasets"][1]["coordinateTransformations"][0]["scale"] == [40.0, 8.0, 8.0]
    em = expected("em", "uint8", "image", 0, x, y, z)
    seg = expected("seg", "uint64", "annotation", 0, x, y, z)
    np.testing.assert_array_equal(root["0"][:], em)
    # The extra level is every 2nd voxel in x and y: level 1 of the source, as the box starts on even voxels.
    np.testing.assert_array_equal(root["1"][:], expected("em", "uint8", "image", 1, (150, 450), (100, 360), z))
    assert root["labels"].attrs["labels"] == ["seg"]
    assert root["labels/seg"].attrs["image-label"]["version"] == "0.4"
    assert root["labels/seg/0"].dtype == np.uint64
    np.testing.assert_array_equal(root["labels/seg/0"][:], seg)
    with zipfile.ZipFile(job.result_path) as zf:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        assert json.loads(zf.read("provenance.json"))["format"] == "ome-zarr"
        rows = zf.read("objects.csv").decode().split()
    assert rows[0] == "channel,object_id"
    assert {int(r.split(",")[1]) for r in rows[1:]} == set(np.unique(seg[seg != 0]).tolist())


def test_a_cutout_of_labels_only_is_itself_the_image_at_level_1(alice):
    x, y, z = (100, 700), (50, 400), (100, 108)
    job = wait_for(submit(alice, channels=["seg"], resolution=1, x=list(x), y=list(y), z=list(z)))
    assert job.state == "done", job.error
    root = open_zip(job.result_path)
    ms = root.attrs["multiscales"][0]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [40.0, 8.0, 8.0]
    assert "labels" not in root
    np.testing.assert_array_equal(root["0"][:], expected("seg", "uint64", "annotation", 1, x, y, z))


def test_a_time_range_has_a_t_axis_and_micrometers(alice):
    x, y, z, t = (0, 300), (0, 100), (0, 4), (2, 5)
    job = wait_for(service.submit(validate(alice, {
        "collection": "demo", "experiment": "timelapse", "channels": ["calcium"], "resolution": 0,
        "x": list(x), "y": list(y), "z": list(z), "t": list(t), "format": "ome-zarr"})))
    assert job.state == "done", job.error
    root = open_zip(job.result_path)
    ms = root.attrs["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["t", "z", "y", "x"]
    assert ms["axes"][1]["unit"] == "micrometer"
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 2.0, 0.5, 0.5]
    want = procedural.cutout("demo/timelapse/calcium", "uint16", "image", 0, x, y, z, t)
    np.testing.assert_array_equal(root["0"][:], want)


def test_several_image_channels_of_one_dtype_share_a_c_axis(tmp_path):
    from bossdb.geometry import calibration
    from cutouts.pipeline.writers.zarr import OmeZarrZip

    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 65535, (5, 40, 70), dtype=np.uint16) for _ in range(2))
    path = tmp_path / "two.ome.zarr.zip"
    with OmeZarrZip(path, a.shape, [("a", "uint16", "image"), ("b", "uint16", "image")],
                    calibration([4, 4, 40], "nanometers", 0)) as out:
        for c, data in enumerate((a, b)):
            out.write_block(data[:, :, 30:], 0, 0, 30, c=c)  # blocks sharing a chunk
            out.write_block(data[:, :, :30], 0, 0, 0, c=c)
    root = open_zip(path)
    assert [ax["name"] for ax in root.attrs["multiscales"][0]["axes"]] == ["c", "z", "y", "x"]
    assert [ch["label"] for ch in root.attrs["omero"]["channels"]] == ["a", "b"]
    np.testing.assert_array_equal(root["0"][:], np.stack([a, b]))
    assert not list(tmp_path.glob("*.d")) and not list(tmp_path.glob("*.part"))


def test_ome_zarr_s_own_reader_finds_the_image_and_the_labels(alice, tmp_path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    x, y, z = (0, 520), (0, 300), (100, 104)
    job = wait_for(submit(alice, channels=["em", "seg"], resolution=0, x=list(x), y=list(y), z=list(z)))
    assert job.state == "done", job.error
    with zipfile.ZipFile(job.result_path) as zf:
        zf.extractall(tmp_path / "out.zarr")
    nodes = list(Reader(parse_url(str(tmp_path / "out.zarr")))())
    image = nodes[0]
    assert image.metadata["axes"][0]["unit"] == "nanometer"
    assert image.metadata["coordinateTransformations"][0][0]["scale"] == [40.0, 4.0, 4.0]
    np.testing.assert_array_equal(np.asarray(image.data[0]), expected("em", "uint8", "image", 0, x, y, z))
    assert any("image-label" in n.zarr.root_attrs for n in nodes[1:])


def test_image_channels_of_different_dtypes_are_refused(alice):
    with pytest.raises(CutoutInvalid) as err:
        validate(alice, {"collection": "demo", "experiment": "cortex", "format": "ome-zarr",
                         "channels": ["em", "fluo"], "resolution": 0, "x": [0, 100], "y": [0, 100], "z": [0, 4]})
    assert "different datatypes" in err.value.errors["format"]
