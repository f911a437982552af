"""boss-cutout downloads a multi-block box voxel for voxel as intern's get_cutout returns it.

The downloads run in this process (common.run_in_process); what the process prints runs it as a subprocess."""
import json

import numpy as np
import pytest
import tifffile
from intern.resource.boss.resource import ChannelResource

from devboss.api import procedural

from .common import cutouts_served, read_stack, reset_stats, run_cli, run_in_process

# 3 x-blocks (--block-mb 1) x 2 y-blocks x 3 z-slabs, with edges off the cuboid grid on every axis (a thin
# slice of each edge block: the same 18 blocks as a bigger box, in an eighth of the voxels).
BOX = {"x": (400, 1100), "y": (400, 600), "z": (110, 130)}
DTYPES = {"em": "uint8", "fluo": "uint16", "seg": "uint64"}


def _args(channel, out, *extra, res=0, box=BOX):
    return [f"bossdb://demo/cortex/{channel}", "--res", res, "-x", "%d:%d" % box["x"], "-y", "%d:%d" % box["y"],
            "-z", "%d:%d" % box["z"], "--out", out, "--block-mb", "1", "--workers", "3", "--quiet", *extra]


def _intern(devboss, channel, res=0, box=BOX):
    resource = ChannelResource(channel, "demo", "cortex", datatype=DTYPES[channel])
    return devboss.remote().get_cutout(resource, res, list(box["x"]), list(box["y"]), list(box["z"]),
                                       parallel=False)


@pytest.mark.parametrize("channel", ["em", "fluo", "seg"])
def test_a_tiff_stack_equals_interns_cutout(devboss, tmp_path, channel):
    code, _, err = run_in_process(devboss, *_args(channel, tmp_path))
    assert code == 0, err
    stack, names = read_stack(tmp_path, channel)
    assert names[0] == f"{channel}_z00110.tif" and names[-1] == f"{channel}_z00129.tif"
    expected = _intern(devboss, channel)
    assert stack.dtype == expected.dtype
    np.testing.assert_array_equal(stack, expected)
    kind = "annotation" if channel == "seg" else "image"
    np.testing.assert_array_equal(
        stack, procedural.cutout(f"demo/cortex/{channel}", DTYPES[channel], kind, 0, BOX["x"], BOX["y"], BOX["z"])[0])
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("channel", ["em", "fluo", "seg"])
def test_an_ome_tiff_equals_interns_cutout(devboss, tmp_path, channel):
    code, _, err = run_in_process(devboss, *_args(channel, tmp_path, "--format", "ome-tiff"))
    assert code == 0, err
    suffix = ".tif" if channel == "seg" else ".ome.tif"  # OME has no uint64: a plain BigTIFF then
    path = tmp_path / f"demo_cortex_{channel}_r0_x400-1100_y400-600_z110-130{suffix}"
    np.testing.assert_array_equal(tifffile.imread(path), _intern(devboss, channel))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted([".boss-cutout.jsonl", path.name, "provenance.json"])


def test_a_lower_resolution_is_calibrated_for_its_level(devboss, tmp_path):
    box = {"x": (0, 700), "y": (0, 520), "z": (100, 120)}
    code, _, err = run_in_process(devboss, *_args("em", tmp_path, res=1, box=box))
    assert code == 0, err
    stack, _ = read_stack(tmp_path, "em")
    np.testing.assert_array_equal(stack, _intern(devboss, "em", res=1, box=box))
    with tifffile.TiffFile(tmp_path / "em_z00100.tif") as tif:
        assert tif.imagej_metadata["spacing"] == 40.0 and tif.imagej_metadata["unit"] == "nm"
        assert tif.pages[0].tags["XResolution"].value == (1, 8)  # 8 nm per pixel at level 1


def test_uint64_slices_carry_the_voxel_size_as_json(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    assert run_in_process(devboss, *_args("seg", tmp_path, box=box))[0] == 0
    with tifffile.TiffFile(tmp_path / "seg_z00100.tif") as tif:
        assert tif.shaped_metadata[0]["voxel_size"] == [4.0, 4.0, 40.0]
        assert tif.shaped_metadata[0]["unit"] == "nanometers"


def test_it_writes_a_provenance_sidecar(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    assert run_in_process(devboss, *_args("em", tmp_path, box=box))[0] == 0
    doc = json.loads((tmp_path / "provenance.json").read_text())
    assert doc["tool"] == "boss-cutout" and doc["boss_url"] == devboss.url
    assert doc["files"] == ["em_z00100.tif", "em_z00101.tif"]
    assert doc["voxel_size"] == {"x": 4.0, "y": 4.0, "z": 40.0, "unit": "nanometers"}
    assert doc["box_voxels"]["z"] == [100, 102]
    assert doc["channels"]["em"]["rest_url"] == f"{devboss.url}/v1/cutout/demo/cortex/em/0/0:64/0:64/100:102/"
    assert doc["command"].startswith("boss-cutout bossdb://demo/cortex/em --res 0 -x 0:64")


def test_a_private_channel_downloads_with_its_owners_token(devboss, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(devboss.token("alice") + "\n")
    out = tmp_path / "out"
    code, _, err = run_in_process(devboss, "bossdb://alice_lab/private_exp/em", "-x", "0:100", "-y", "0:100",
                                  "-z", "0:20", "--out", out, "--token-file", token_file, "--quiet")
    assert code == 0, err
    assert len(list(out.glob("em_z*.tif"))) == 20


def test_the_token_can_come_from_the_environment(devboss, tmp_path):
    code, _, err = run_in_process(devboss, "bossdb://alice_lab/private_exp/em", "-x", "0:10", "-y", "0:10",
                                  "-z", "0:1", "--out", tmp_path, "--quiet", token=devboss.token("alice"))
    assert code == 0, err


def test_rerunning_a_finished_download_fetches_nothing(devboss, tmp_path):
    box = {"x": (0, 600), "y": (0, 64), "z": (100, 120)}
    assert run_in_process(devboss, *_args("fluo", tmp_path, box=box))[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.tif")}
    reset_stats(devboss)
    code, _, err = run_in_process(devboss, *_args("fluo", tmp_path, box=box)[:-1])  # without --quiet
    assert code == 0 and "already complete" in err
    assert cutouts_served(devboss, "demo/cortex/fluo") == 0
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.tif")} == before


def test_it_shows_a_progress_bar_in_bytes_on_stderr(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    code, out, err = run_cli(devboss, *_args("em", tmp_path, box=box)[:-1])
    assert code == 0 and out == ""
    assert "100%" in err and "B/s" in err


def test_quiet_prints_nothing(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    assert run_cli(devboss, *_args("em", tmp_path, box=box)) == (0, "", "")


@pytest.mark.parametrize("fmt, compression", [("tiff-stack", "deflate"), ("ome-tiff", "zstd")])
def test_compressed_results_equal_interns_cutout(devboss, tmp_path, fmt, compression):
    box = {"x": (512, 1536), "y": (400, 600), "z": (110, 130)}  # on the 16 grid: a wide box is tiled
    code, _, err = run_in_process(devboss, *_args("fluo", tmp_path, "--format", fmt, "--compression", compression,
                                                  box=box))
    assert code == 0, err
    files = sorted(tmp_path.glob("*.tif"))
    with tifffile.TiffFile(files[0]) as tif:
        assert tif.pages[0].compression.name == {"deflate": "ADOBE_DEFLATE", "zstd": "ZSTD"}[compression]
        if fmt == "tiff-stack":
            assert tif.is_imagej  # Fiji's own opener reads deflate strips
    stack = np.stack([tifffile.imread(f) for f in files]) if fmt == "tiff-stack" else tifffile.imread(files[0])
    np.testing.assert_array_equal(stack.reshape(20, 200, 1024), _intern(devboss, "fluo", box=box))
    assert sum(f.stat().st_size for f in files) < 20 * 200 * 1024 * 2
    assert not list(tmp_path.glob("*.part*"))


def test_a_compressed_stack_that_needs_tiles_off_the_16_grid_is_refused_with_what_the_command_offers(devboss,
                                                                                                      tmp_path):
    """Not "choose ome-zarr": boss-cutout writes TIFFs only."""
    box = {"x": (8, 1544), "y": (0, 512), "z": (100, 116)}  # uint64 rows too wide for strips, x off the grid
    code, _, err = run_cli(devboss, *_args("seg", tmp_path, "--format", "tiff-stack", "--compression", "deflate",
                                           box=box))
    assert code != 0
    assert "multiple of 16" in err and "--compression none" in err and "ome-zarr" not in err
    assert not list(tmp_path.glob("*.tif"))
