"""An interrupted boss-cutout continues where it stopped: finished blocks are not fetched again, and no
file with a final name is ever incomplete."""
import signal
import time

import numpy as np
import pytest
import tifffile

from cutouts.pipeline.plan import Box, plan_blocks
from devboss.api import procedural

from .common import (
    cutouts_served, manifest_blocks, read_stack, reset_faults, reset_stats, run_in_process, set_faults,
    start_cli,
)

KEY = "demo/large/em"
BOX = {"x": (0, 512), "y": (0, 2048), "z": (0, 64)}  # 16 blocks of 512x512x16 (one cuboid) at --block-mb 1
BLOCKS = len(plan_blocks(Box(BOX["x"], BOX["y"], BOX["z"]), "uint8", 1024 * 1024))  # what the command plans


def _args(out, *extra):
    return ["bossdb://demo/large/em", "-x", "%d:%d" % BOX["x"], "-y", "%d:%d" % BOX["y"], "-z", "%d:%d" % BOX["z"],
            "--out", out,
            "--block-mb", "1", "--workers", "2", "--quiet", *extra]


def _expected():
    return procedural.cutout(KEY, "uint8", "image", 0, BOX["x"], BOX["y"], BOX["z"])[0]


@pytest.fixture
def slow_boss(devboss):
    set_faults(devboss, delay_rate=1.0, delay_seconds=0.3)
    yield
    reset_faults(devboss)


def _interrupt(devboss, out, sig, *extra, at_least=4):
    """Start a download against the slowed devboss, send `sig` once some blocks are in; return the process."""
    proc = start_cli(devboss, *_args(out, *extra))
    deadline = time.monotonic() + 120
    while len(manifest_blocks(out)) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    reset_faults(devboss)
    time.sleep(1.0)  # let devboss finish (and count) the requests the killed process left in flight
    reset_stats(devboss)
    return proc


def _finished_slices_are_complete(out, expected):
    for path in out.glob("em_z*.tif"):
        z = int(path.stem.split("_z")[1])
        np.testing.assert_array_equal(tifffile.imread(path), expected[z])


def test_a_killed_download_resumes_without_refetching_finished_blocks(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    proc = _interrupt(devboss, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    done = set(manifest_blocks(out))
    assert 4 <= len(done) < BLOCKS
    expected = _expected()
    _finished_slices_are_complete(out, expected)
    assert list(out.glob("*.part"))  # the unfinished slab waits in staging files

    code, _, err = run_in_process(devboss, *_args(out))
    assert code == 0, err
    assert cutouts_served(devboss, KEY) == BLOCKS - len(done)
    stack, names = read_stack(out, "em")
    assert len(names) == 64 and not list(out.glob("*.part"))
    np.testing.assert_array_equal(stack, expected)

    fresh = tmp_path / "fresh"
    assert run_in_process(devboss, *_args(fresh))[0] == 0
    for name in names:
        assert (out / name).read_bytes() == (fresh / name).read_bytes()


def test_ctrl_c_exits_130_and_the_rerun_finishes(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    proc = _interrupt(devboss, out, signal.SIGINT)
    assert proc.returncode == 130
    done = set(manifest_blocks(out))
    code, _, err = run_in_process(devboss, *_args(out))
    assert code == 0, err
    assert cutouts_served(devboss, KEY) == BLOCKS - len(done)
    np.testing.assert_array_equal(read_stack(out, "em")[0], _expected())


def test_a_killed_ome_tiff_download_resumes(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    _interrupt(devboss, out, signal.SIGKILL, "--format", "ome-tiff")
    done = set(manifest_blocks(out))
    assert not list(out.glob("*.ome.tif"))  # only the .part so far
    code, _, err = run_in_process(devboss, *_args(out, "--format", "ome-tiff"))
    assert code == 0, err
    assert cutouts_served(devboss, KEY) == BLOCKS - len(done)
    np.testing.assert_array_equal(tifffile.imread(out / "demo_large_em_r0_x0-512_y0-2048_z0-64.ome.tif"),
                                  _expected())


def test_a_lost_staging_file_makes_its_slab_fetched_again(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    _interrupt(devboss, out, signal.SIGKILL, at_least=2)
    parts = sorted(out.glob("*.part"))
    assert parts
    parts[0].unlink()
    assert run_in_process(devboss, *_args(out))[0] == 0
    np.testing.assert_array_equal(read_stack(out, "em")[0], _expected())


def test_a_manifest_line_cut_short_is_ignored(devboss, tmp_path):
    out = tmp_path / "out"
    args = ["bossdb://demo/cortex/em", "-x", "0:64", "-y", "0:64", "-z", "100:104", "--out", out, "--quiet"]
    assert run_in_process(devboss, *args)[0] == 0
    manifest = out / ".boss-cutout.jsonl"
    lines = manifest.read_text().splitlines()
    manifest.write_text(lines[0] + "\n" + '{"blo')  # killed while writing the first block's line
    (out / "em_z00100.tif").unlink()
    assert run_in_process(devboss, *args)[0] == 0
    assert manifest.read_text().splitlines()[1] == lines[1]


def test_a_rerun_with_other_arguments_is_refused(devboss, tmp_path, slow_boss):
    out = tmp_path / "out"
    _interrupt(devboss, out, signal.SIGKILL, at_least=1)
    code, _, err = run_in_process(devboss, "bossdb://demo/large/em", "-x", "0:256", "-y", "0:2048", "-z", "0:64",
                                  "--out", out, "--block-mb", "1", "--quiet")
    assert code == 6
    assert "other arguments (x: 0:256 now, 0:512 before)" in err
    assert "same arguments to resume" in err


def test_renames_left_undone_are_finished_and_lost_slices_fetched_again(devboss, tmp_path):
    out = tmp_path / "out"
    args = ["bossdb://demo/cortex/em", "-x", "0:64", "-y", "0:64", "-z", "100:128", "--out", out, "--quiet"]
    assert run_in_process(devboss, *args)[0] == 0  # slabs z 100:112 and 112:128, one block each
    manifest = out / ".boss-cutout.jsonl"
    manifest.write_text("".join(line + "\n" for line in manifest.read_text().splitlines() if "finished" not in line))
    # killed while renaming the first slab's slices; the second slab lost a slice and its staging file
    for z in (105, 106):
        (out / f"em_z00{z}.tif").rename(out / f"em_z00{z}.tif.part")
    (out / "em_z00120.tif").unlink()
    reset_stats(devboss)
    assert run_in_process(devboss, *args)[0] == 0
    assert cutouts_served(devboss, "demo/cortex/em") == 1
    expected = procedural.cutout("demo/cortex/em", "uint8", "image", 0, (0, 64), (0, 64), (100, 128))[0]
    np.testing.assert_array_equal(read_stack(out, "em")[0], expected)
    assert not list(out.glob("*.part"))


def test_blocks_written_before_a_failure_are_recorded_though_their_batch_was_not_due(tmp_path, monkeypatch):
    """Finished blocks are made durable and recorded in batches (download.SETTLE_SECONDS); a run that fails
    or is interrupted records the batch it holds before it stops, so the rerun does not fetch those again."""
    import importlib

    from cutouts.cli.manifest import Manifest
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
    from cutouts.pipeline.writers.stack import make_plan

    dl = importlib.import_module("cutouts.cli.download")  # the module: cutouts.cli's `download` is its function
    monkeypatch.setattr(dl, "SETTLE_SECONDS", 3600)  # no batch falls due during the run
    box = Box((0, 512), (0, 512), (0, 96))
    spec = CutoutSpec("http://boss.test", "c", "e", (ChannelSpec("em", "uint8"),), 0, box, format="tiff-stack",
                      voxel_size=(4.0, 4.0, 40.0))
    plan = make_plan(spec, 1024 * 1024)
    assert len(plan.blocks) == 6
    manifest = Manifest(tmp_path)
    manifest.start({"request": "test"})
    data = np.arange(96 * 512 * 512, dtype=np.uint64).astype(np.uint8).reshape(96, 512, 512)
    read_calls = []

    def read(task):
        read_calls.append(task.block.key)
        if len(read_calls) == 4:
            time.sleep(0.5)  # the reader runs a block ahead of the writer: let the third block land first
            raise RuntimeError("BOSS went away")
        b = task.block
        return data[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]]

    class Progress:
        def update(self, n):
            pass

    with pytest.raises(RuntimeError, match="went away"):
        dl.download(plan, manifest.channel("em"), tmp_path, read, 1, Progress())
    manifest.close()
    written = [b.key for b in plan.blocks[:3]]
    again = Manifest(tmp_path)
    assert again.load()
    assert again.done["em"] == set(written)
    finished = sorted(tmp_path.glob("em_z*.tif"))  # the first three slabs, each one block, are committed
    assert len(finished) == 48
    for path in finished:
        z = int(path.stem.split("_z")[1])
        np.testing.assert_array_equal(tifffile.imread(path), data[z])
