"""Cutout jobs end to end: a real Celery worker on a real Redis fetches from devboss over HTTP as the
job's owner, and the TIFF it writes holds exactly the procedural voxels, calibrated."""
import json
import os
import time

import numpy as np
import pytest
import tifffile

from cutouts import service
from cutouts.models import CutoutJob
from cutouts.validation import CutoutInvalid, validate
from devboss.api import procedural

pytestmark = pytest.mark.usefixtures("celery_worker")


def wait_for(job, states=("done", "failed", "cancelled"), timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job stayed {job.state} ({job.blocks_done}/{job.blocks_total}): {job.error}")


def expected(c, e, ch, datatype, kind, level, x, y, z, t=(0, 1)):
    data = procedural.cutout(f"{c}/{e}/{ch}", datatype, kind, level, x, y, z, t)
    return data if t != (0, 1) else data[0]


def submit(user, **request):
    return service.submit(validate(user, request))


@pytest.mark.parametrize(
    "channel,datatype,kind,level",
    [("em", "uint8", "image", 0), ("em", "uint8", "image", 1), ("fluo", "uint16", "image", 0),
     ("fluo", "uint16", "image", 1), ("seg", "uint64", "annotation", 0), ("seg", "uint64", "annotation", 1)],
)
def test_a_multi_block_cutout_equals_the_source_voxel_for_voxel(alice, channel, datatype, kind, level):
    x, y, z = (300, 1400), (200, 900), (110, 150)
    if level == 1:
        x, y = (150, 700), (100, 450)
    job = wait_for(submit(alice, collection="demo", experiment="cortex", channels=[channel], resolution=level,
                          x=list(x), y=list(y), z=list(z)))
    assert job.state == "done", job.error
    assert job.blocks_total > 1 and job.blocks_done == job.blocks_total
    with tifffile.TiffFile(job.result_path) as tif:
        data = tif.asarray()
        if datatype == "uint64":
            meta = tif.shaped_metadata[0]
            assert meta["voxel_size"] == [4.0 * 2**level, 4.0 * 2**level, 40.0]
            assert meta["unit"] == "nanometers"
        else:
            assert tif.is_ome
            ome = tif.ome_metadata
            assert f'PhysicalSizeX="{4.0 * 2**level}"' in ome and 'PhysicalSizeZ="40.0"' in ome
            assert 'PhysicalSizeXUnit="nm"' in ome
    assert data.dtype == np.dtype(datatype)
    np.testing.assert_array_equal(data, expected("demo", "cortex", channel, datatype, kind, level, x, y, z))
    assert job.result_size == os.path.getsize(job.result_path)
    assert job.expires is not None and job.expires > job.finished


def test_the_sidecar_intern_snippet_returns_the_same_array(alice, devboss):
    job = wait_for(submit(alice, collection="demo", experiment="cortex", channels=["fluo"], resolution=0,
                          x=[0, 700], y=[0, 600], z=[100, 120]))
    assert job.state == "done", job.error
    sidecar = json.loads(job.sidecar_path.read_text())
    assert sidecar["voxel_size"] == {"x": 4.0, "y": 4.0, "z": 40.0, "unit": "nanometers"}
    assert sidecar["box_physical"]["z"] == [4000.0, 4800.0]
    assert "axis_aligned_bounding_box" in sidecar["viewer_url"]  # the viewer link is framed on the box
    snippet = sidecar["channels"]["fluo"]["intern"]
    assert devboss.token("alice") not in snippet
    os.environ["BOSS_TOKEN"] = devboss.token("alice")
    try:
        scope = {}
        exec(snippet, scope)  # noqa: S102 - the recipe a user pastes, run as they would
    finally:
        del os.environ["BOSS_TOKEN"]
    np.testing.assert_array_equal(scope["data"], tifffile.imread(job.result_path))


def test_the_intern_array_snippet_returns_the_same_array(alice, devboss, monkeypatch, tmp_path):
    from cutouts.pipeline import recipes

    job = wait_for(submit(alice, collection="demo", experiment="cortex", channels=["em"], resolution=1,
                          x=[100, 400], y=[50, 300], z=[110, 118]))
    assert job.state == "done", job.error
    snippet = recipes.intern_array_snippet(job.spec, "em")
    assert devboss.token("alice") not in snippet
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.intern/intern.cfg of the machine's
    monkeypatch.setenv("BOSS_TOKEN", devboss.token("alice"))
    for name in ("INTERN_PROTOCOL", "INTERN_HOST", "INTERN_TOKEN"):
        monkeypatch.setenv(name, "")  # recorded, so the snippet's values are undone after the test
    scope = {}
    exec(snippet, scope)  # noqa: S102 - the recipe a user pastes, run as they would
    np.testing.assert_array_equal(np.asarray(scope["data"]), tifffile.imread(job.result_path))


def test_a_multichannel_zip_holds_one_tiff_per_channel_and_the_sidecar(alice):
    import zipfile

    x, y, z = (0, 600), (0, 520), (100, 116)
    job = wait_for(submit(alice, collection="demo", experiment="cortex", channels=["em", "seg"], resolution=0,
                          x=list(x), y=list(y), z=list(z), format="tiff-zip"))
    assert job.state == "done", job.error
    with zipfile.ZipFile(job.result_path) as zf:
        names = sorted(zf.namelist())
        assert "provenance.json" in names
        for ch, dtype, kind in (("em", "uint8", "image"), ("seg", "uint64", "annotation")):
            (member,) = [n for n in names if f"_{ch}_" in n]
            with zf.open(member) as f:
                got = tifffile.imread(f)
            np.testing.assert_array_equal(got, expected("demo", "cortex", ch, dtype, kind, 0, x, y, z))


def test_a_multichannel_ome_tiff_has_a_channel_axis(alice):
    x, y, z = (0, 520), (0, 300), (100, 104)
    job = wait_for(submit(alice, collection="demo", experiment="cortex", channels=["em", "em"], resolution=0,
                          x=list(x), y=list(y), z=list(z)))
    assert job.state == "done", job.error
    assert job.channels == ["em"]  # duplicates dropped


def test_a_time_range_cutout_has_a_time_axis(alice):
    x, y, z, t = (0, 500), (0, 100), (0, 4), (2, 5)
    job = wait_for(submit(alice, collection="demo", experiment="timelapse", channels=["calcium"], resolution=0,
                          x=list(x), y=list(y), z=list(z), t=list(t)))
    assert job.state == "done", job.error
    with tifffile.TiffFile(job.result_path) as tif:
        assert tif.series[0].axes.startswith("T")
        data = tif.asarray()
    want = procedural.cutout("demo/timelapse/calcium", "uint16", "image", 0, x, y, z, t)
    np.testing.assert_array_equal(data, want)


def test_an_imagej_tiff_tells_fiji_the_voxel_size(alice):
    job = wait_for(submit(alice, collection="demo", experiment="timelapse", channels=["calcium"], resolution=1,
                          x=[0, 256], y=[0, 256], z=[0, 8], format="imagej-tiff"))
    assert job.state == "done", job.error
    with tifffile.TiffFile(job.result_path) as tif:
        assert tif.imagej_metadata["spacing"] == 2.0
        assert tif.imagej_metadata["unit"] == "micron"
        num, den = tif.pages[0].tags["XResolution"].value
        assert num / den == pytest.approx(1.0)  # 1 pixel per micron at level 1 (0.5 µm × 2)


def test_a_private_channel_is_cut_out_for_its_owner_only(alice, bob):
    job = wait_for(submit(alice, collection="alice_lab", experiment="private_exp", channels=["em"], resolution=0,
                          x=[0, 100], y=[0, 100], z=[0, 4]))
    assert job.state == "done", job.error
    with pytest.raises(CutoutInvalid) as err:
        validate(bob, {"collection": "alice_lab", "experiment": "private_exp", "channels": ["em"],
                       "resolution": 0, "x": [0, 100], "y": [0, 100], "z": [0, 4]})
    assert "experiment" in err.value.errors
