"""Several channels of one experiment in one run: bossdb://c/e/em,fluo and/or several resources.

Each channel is planned, checked, downloaded, resumed and written as a single channel is, into its own files."""
import json
import signal
import time

import numpy as np
import pytest
import tifffile

from cutouts.pipeline.plan import Box, plan_blocks
from devboss.api import procedural

from .common import (
    cutouts_served, manifest_entries, read_stack, reset_faults, reset_stats, run_cli, run_in_process, set_faults,
    start_cli,
)

# 2 x-blocks at --block-mb 1 (the x cut at 512), 2 z-slabs (104:112, 112:124)
BOX = {"x": (300, 900), "y": (100, 300), "z": (104, 124)}
DTYPES = {"em": "uint8", "fluo": "uint16", "seg": "uint64"}
KINDS = {"em": "image", "fluo": "image", "seg": "annotation"}


def _ranges(box):
    return ["-x", "%d:%d" % box["x"], "-y", "%d:%d" % box["y"], "-z", "%d:%d" % box["z"]]


def _args(resources, out, *extra, box=BOX):
    resources = [resources] if isinstance(resources, str) else list(resources)
    return [*resources, *_ranges(box), "--out", out, "--block-mb", "1", "--workers", "2", "--quiet", *extra]


def _expected(channel, box=BOX):
    return procedural.cutout(f"demo/cortex/{channel}", DTYPES[channel], KINDS[channel], 0,
                             box["x"], box["y"], box["z"])[0]


def _blocks(dtype, box=BOX):
    return len(plan_blocks(Box(box["x"], box["y"], box["z"]), dtype, 1024 * 1024))


def test_two_channels_download_voxel_for_voxel_each_with_its_own_dtype(devboss, tmp_path):
    reset_stats(devboss)
    code, out, err = run_cli(devboss, *_args("bossdb://demo/cortex/em,fluo", tmp_path))
    assert (code, out, err) == (0, "", "")
    for channel in ("em", "fluo"):
        stack, names = read_stack(tmp_path, channel)
        assert names[0] == f"{channel}_z00104.tif" and names[-1] == f"{channel}_z00123.tif" and len(names) == 20
        assert stack.dtype == np.dtype(DTYPES[channel])
        np.testing.assert_array_equal(stack, _expected(channel))
        assert cutouts_served(devboss, f"demo/cortex/{channel}") == _blocks(DTYPES[channel])
    assert not list(tmp_path.glob("*.part"))
    doc = json.loads((tmp_path / "provenance.json").read_text())
    assert list(doc["channels"]) == ["em", "fluo"]
    assert doc["channels"]["fluo"]["datatype"] == "uint16" and doc["channels"]["em"]["datatype"] == "uint8"
    assert doc["files"] == [f"em_z{z:05d}.tif" for z in range(104, 124)] + [f"fluo_z{z:05d}.tif"
                                                                               for z in range(104, 124)]
    assert doc["command"].startswith("boss-cutout bossdb://demo/cortex/em,fluo --res 0 -x 300:900")
    channels = [channel for channel, _ in manifest_entries(tmp_path)]
    assert channels == ["em"] * _blocks("uint8") + ["fluo"] * _blocks("uint16")  # one channel after the other


def test_resources_and_comma_lists_combine_and_ome_tiffs_get_one_file_per_channel(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 104)}
    # a second resource after the options, as a shell user appends it
    args = _args("bossdb://demo/cortex/em,fluo", tmp_path, "--format", "ome-tiff", "bossdb://demo/cortex/seg/",
                 box=box)
    code, _, err = run_in_process(devboss, *args)
    assert code == 0, err
    stem = "_r0_x0-64_y0-64_z100-104"
    names = {"em": f"demo_cortex_em{stem}.ome.tif", "fluo": f"demo_cortex_fluo{stem}.ome.tif",
             "seg": f"demo_cortex_seg{stem}.tif"}  # OME has no uint64: a plain BigTIFF then
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".boss-cutout.jsonl", "provenance.json",
                                                                 *names.values()])
    for channel, name in names.items():
        data = tifffile.imread(tmp_path / name)
        assert data.dtype == np.dtype(DTYPES[channel])
        np.testing.assert_array_equal(data, _expected(channel, box))
    doc = json.loads((tmp_path / "provenance.json").read_text())
    assert list(doc["channels"]) == ["em", "fluo", "seg"] and doc["channels"]["seg"]["type"] == "annotation"


def test_rerunning_a_finished_multi_channel_download_fetches_nothing(devboss, tmp_path):
    args = _args("bossdb://demo/cortex/em,fluo", tmp_path)
    assert run_in_process(devboss, *args)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.tif")}
    reset_stats(devboss)
    code, _, err = run_in_process(devboss, *args[:-1])  # without --quiet
    assert code == 0 and "already complete" in err
    assert cutouts_served(devboss, "demo/cortex/em") == 0 and cutouts_served(devboss, "demo/cortex/fluo") == 0
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.tif")} == before


def test_the_summary_and_progress_bars_name_each_channel(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    code, out, err = run_cli(devboss, *_args("bossdb://demo/cortex/em,fluo", tmp_path, box=box)[:-1])
    assert code == 0 and out == ""
    assert "em: 100%" in err and "fluo: 100%" in err
    assert f"{tmp_path}: 4 file(s), 24.6 KB (em, fluo)" in err


def test_the_command_ends_with_its_output_whole(devboss, tmp_path):
    # The command leaves with os._exit once its work is done (no interpreter teardown): what it printed
    # into pipes (block-buffered, so nothing of it had gone out before the end) must all arrive.
    buffered = {"PYTHONUNBUFFERED": ""}  # as a user's shell has it, whatever the test run's is
    code, stdout, err = run_cli(devboss, "bossdb://demo/large/em", "-x", "0:64", "-y", "0:64", "-z", "0:512",
                                "--out", tmp_path / "out", "--dry-run", env=buffered)
    assert code == 0, err
    assert stdout.startswith("box: x 0:64, y 0:64, z 0:512 at resolution 0\n")
    assert stdout.endswith("  em_z00511.tif\n  provenance.json\n")
    code, _, err = run_cli(devboss, "bossdb://demo/cortex/em", "-x", "0:64", "-y", "0:64", "-z", "100:102",
                           "--out", tmp_path / "done", env=buffered)
    assert code == 0 and err.rstrip().endswith(f"{tmp_path / 'done'}: 2 file(s), 8.2 KB")


def test_dry_run_lists_every_channel_and_the_total(devboss, tmp_path):
    reset_stats(devboss)
    out = tmp_path / "out"
    code, stdout, err = run_in_process(devboss, "bossdb://demo/cortex/em,fluo", "-x", "0:1024", "-y", "0:1024",
                                       "-z", "100:140", "--out", out, "--dry-run")
    assert code == 0, err
    em, fluo = 1024 * 1024 * 40, 1024 * 1024 * 40 * 2
    blocks = {dt: len(plan_blocks(Box((0, 1024), (0, 1024), (100, 140)), dt, 16 * 1024 * 1024))
              for dt in ("uint8", "uint16")}
    assert "box: x 0:1024, y 0:1024, z 100:140 at resolution 0" in stdout
    em_part, fluo_part = stdout.split("channel em:")[1].split("channel fluo:")
    assert f"size: 41.9 MB ({em} bytes, uint8, 1024 x 1024 x 40 voxels)" in em_part
    assert f"blocks: {blocks['uint8']}" in em_part and "files: 40" in em_part
    assert "em_z00100.tif" in em_part and "em_z00139.tif" in em_part and "fluo_z" not in em_part
    assert f"size: 83.9 MB ({fluo} bytes, uint16, 1024 x 1024 x 40 voxels)" in fluo_part
    assert "fluo_z00100.tif" in fluo_part and "fluo_z00139.tif" in fluo_part
    assert (f"total: 125.8 MB ({em + fluo} bytes), 2 channels, {blocks['uint8'] + blocks['uint16']} blocks, "
            f"80 files + provenance.json in {out}") in stdout
    assert not out.exists()
    assert cutouts_served(devboss, "demo/cortex/em") == 0 and cutouts_served(devboss, "demo/cortex/fluo") == 0


def test_dry_run_names_each_channels_ome_tiff(devboss, tmp_path):
    code, stdout, _ = run_in_process(devboss, "bossdb://demo/cortex/fluo,seg", "-x", "0:64", "-y", "0:64",
                                     "-z", "100:104", "--out", tmp_path, "--format", "ome-tiff", "--dry-run")
    assert code == 0
    assert "demo_cortex_fluo_r0_x0-64_y0-64_z100-104.ome.tif" in stdout
    assert "demo_cortex_seg_r0_x0-64_y0-64_z100-104.tif" in stdout
    assert "uint16" in stdout and "uint64" in stdout and "2 files + provenance.json" in stdout


# --- Bad channel lists --------------------------------------------------------------------------------------

@pytest.mark.parametrize("resources,message", [
    (["bossdb://demo/cortex/em,,fluo"], "empty channel name in 'bossdb://demo/cortex/em,,fluo'"),
    (["bossdb://demo/cortex/em,"], "empty channel name"),
    (["bossdb://demo/cortex/,em"], "empty channel name"),
    (["bossdb://demo/cortex/em,fluo,em"], "channel 'em' is given twice"),
    (["bossdb://demo/cortex/em", "bossdb://demo/cortex/fluo,em"], "channel 'em' is given twice"),
    (["bossdb://demo/cortex/em", "bossdb://demo/large/em"],
     "all channels must belong to one experiment: 'bossdb://demo/large/em' is not in demo/cortex"),
    (["bossdb://demo/cortex/em", "fluo"], "resource must look like bossdb://collection/experiment/channel, "
                                          "got 'fluo'"),
])
def test_a_bad_channel_list_is_a_usage_error(devboss, tmp_path, resources, message):
    code, out, err = run_in_process(devboss, *_args(resources, tmp_path / "out"))
    assert code == 2 and out == ""
    assert f"boss-cutout: error: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_channel_among_several_stops_before_any_download(devboss, tmp_path):
    reset_stats(devboss)
    code, _, err = run_in_process(devboss, *_args("bossdb://demo/cortex/em,nope,fluo", tmp_path / "out"))
    assert code == 3
    assert "BOSS has no such resource (channel demo/cortex/nope)" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert cutouts_served(devboss, "demo/cortex/em") == 0


def test_a_box_outside_one_channels_frame_is_found_before_any_download(devboss, tmp_path):
    code, _, err = run_in_process(devboss, *_args("bossdb://demo/cortex/em,fluo", tmp_path / "out", "--res", "4"))
    assert code == 2 and "--res 4: demo/cortex has resolutions 0..3" in err
    assert not (tmp_path / "out").exists()


def test_a_rerun_with_another_channel_list_is_refused(devboss, tmp_path):
    box = {"x": (0, 64), "y": (0, 64), "z": (100, 102)}
    assert run_in_process(devboss, *_args("bossdb://demo/cortex/em", tmp_path, box=box))[0] == 0
    code, _, err = run_in_process(devboss, *_args("bossdb://demo/cortex/em,fluo", tmp_path, box=box))
    assert code == 6
    assert ("other arguments (resource: bossdb://demo/cortex/em,fluo now, bossdb://demo/cortex/em before)"
            in err)
    assert not list(tmp_path.glob("fluo_*"))


def test_a_folder_holding_another_channels_files_is_refused(devboss, tmp_path):
    (tmp_path / "fluo_z00101.tif").write_bytes(b"mine")
    code, _, err = run_in_process(devboss, *_args("bossdb://demo/cortex/em,fluo", tmp_path,
                                                  box={"x": (0, 64), "y": (0, 64), "z": (100, 102)}))
    assert code == 6 and "already holds fluo_z00101.tif" in err
    assert (tmp_path / "fluo_z00101.tif").read_bytes() == b"mine"


# --- Resume -------------------------------------------------------------------------------------------------

RESUME_BOX = {"x": (0, 512), "y": (0, 1024), "z": (100, 164)}  # 10 blocks per channel at --block-mb 1


@pytest.fixture
def slow_boss(devboss):
    set_faults(devboss, delay_rate=1.0, delay_seconds=0.3)
    yield
    reset_faults(devboss)


def _kill_during_second_channel(devboss, out, args, first, second, at_least=2):
    """Start a two-channel download against the slowed devboss and SIGKILL it once the first channel is done
    and `at_least` blocks of the second are in; then count requests afresh."""
    first_blocks = _blocks(DTYPES[first], RESUME_BOX)
    proc = start_cli(devboss, *args)
    deadline = time.monotonic() + 120
    while True:
        entries = manifest_entries(out)
        if (sum(c == first for c, _ in entries) == first_blocks
                and sum(c == second for c, _ in entries) >= at_least):
            break
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    reset_faults(devboss)
    time.sleep(1.0)  # let devboss finish (and count) the requests the killed process left in flight
    reset_stats(devboss)
    return proc


def test_a_multi_channel_download_killed_in_its_second_channel_resumes_without_refetching(devboss, tmp_path,
                                                                                          slow_boss):
    out = tmp_path / "out"
    args = _args("bossdb://demo/cortex/em,fluo", out, box=RESUME_BOX)
    proc = _kill_during_second_channel(devboss, out, args, "em", "fluo")
    assert proc.returncode == -signal.SIGKILL
    entries = manifest_entries(out)
    fluo_done = {b for c, b in entries if c == "fluo"}
    fluo_blocks = _blocks("uint16", RESUME_BOX)
    assert 2 <= len(fluo_done) < fluo_blocks
    assert len(read_stack(out, "em")[1]) == 64  # the first channel is complete on disk
    assert not (out / "provenance.json").exists()

    code, _, err = run_in_process(devboss, *args)
    assert code == 0, err
    assert cutouts_served(devboss, "demo/cortex/em") == 0
    assert cutouts_served(devboss, "demo/cortex/fluo") == fluo_blocks - len(fluo_done)
    for channel in ("em", "fluo"):
        stack, names = read_stack(out, channel)
        assert len(names) == 64 and stack.dtype == np.dtype(DTYPES[channel])
        np.testing.assert_array_equal(stack, _expected(channel, RESUME_BOX))
    assert not list(out.glob("*.part"))
    assert json.loads((out / "provenance.json").read_text())["channels"].keys() == {"em", "fluo"}

    # a third run has nothing left to do
    reset_stats(devboss)
    assert run_in_process(devboss, *args)[0] == 0
    assert cutouts_served(devboss, "demo/cortex/em") == 0 and cutouts_served(devboss, "demo/cortex/fluo") == 0


def test_an_interrupted_multi_channel_download_refuses_a_rerun_with_fewer_channels(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    _kill_during_second_channel(devboss, out, _args("bossdb://demo/cortex/em,fluo", out, box=RESUME_BOX),
                                "em", "fluo", at_least=1)
    code, _, err = run_in_process(devboss, *_args("bossdb://demo/cortex/em", out, box=RESUME_BOX))
    assert code == 6
    assert "other arguments (resource: bossdb://demo/cortex/em now, bossdb://demo/cortex/em,fluo before)" in err


def test_a_manifest_from_a_single_channel_run_without_channel_tags_still_resumes(devboss, tmp_path):
    """Block lines written before multi-channel runs carry no channel: they belong to the one channel."""
    args = _args("bossdb://demo/cortex/em", tmp_path, box={"x": (0, 64), "y": (0, 64), "z": (100, 128)})
    assert run_in_process(devboss, *args)[0] == 0  # slabs z 100:112 and 112:128, one block each
    manifest = tmp_path / ".boss-cutout.jsonl"
    lines = []
    for line in manifest.read_text().splitlines():
        entry = json.loads(line)
        if "finished" in entry:
            continue
        entry.pop("channel", None)
        lines.append(json.dumps(entry) + "\n")
    manifest.write_text("".join(lines))
    (tmp_path / "em_z00120.tif").unlink()  # the second slab lost a slice: only it is fetched again
    reset_stats(devboss)
    assert run_in_process(devboss, *args)[0] == 0
    assert cutouts_served(devboss, "demo/cortex/em") == 1
    np.testing.assert_array_equal(read_stack(tmp_path, "em")[0],
                                  _expected("em", {"x": (0, 64), "y": (0, 64), "z": (100, 128)}))


def test_help_describes_several_channels(devboss):
    code, out, _ = run_in_process(devboss, "--help")
    assert code == 0
    assert "resource [resource ...]" in out and "bossdb://collection/experiment/em,fluo" in out
    assert "Channels: several channels of one experiment download in one run" in out
