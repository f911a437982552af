"""--dry-run prints the size, the block count and the files, writes nothing and exits 0."""
from cutouts.pipeline.plan import Box, plan_blocks

from .common import cutouts_served, reset_stats, run_in_process


def test_dry_run_prints_size_blocks_and_files(devboss, tmp_path):
    reset_stats(devboss)
    out = tmp_path / "out"
    code, stdout, _ = run_in_process(devboss, "bossdb://demo/large/em", "-x", "0:4096", "-y", "0:4096",
                                     "-z", "0:512", "--out", out, "--dry-run")
    assert code == 0
    assert "size: 8.6 GB (8589934592 bytes, uint8, 4096 x 4096 x 512 voxels)" in stdout
    blocks = len(plan_blocks(Box((0, 4096), (0, 4096), (0, 512)), "uint8", 16 * 1024 * 1024))
    assert blocks == 256  # whole 4096-wide rows, 512 deep in y, 16 in z
    assert f"blocks: {blocks}" in stdout
    assert "files: 512 in" in stdout
    assert "em_z00000.tif" in stdout and "em_z00511.tif" in stdout and "provenance.json" in stdout
    assert not out.exists()
    assert cutouts_served(devboss, "demo/large/em") == 0


def test_dry_run_names_the_ome_tiff(devboss, tmp_path):
    code, stdout, _ = run_in_process(devboss, "bossdb://demo/cortex/fluo", "--res", "1", "-x", "0:1024", "-y",
                                     "0:1024", "-z", "100:228", "--out", tmp_path, "--format", "ome-tiff", "--dry-run")
    assert code == 0
    assert "files: 1 in" in stdout and "demo_cortex_fluo_r1_x0-1024_y0-1024_z100-228.ome.tif" in stdout
    assert "uint16" in stdout


def test_dry_run_still_checks_the_box(devboss, tmp_path):
    code, _, err = run_in_process(devboss, "bossdb://demo/cortex/em", "-x", "0:4096", "-y", "0:64", "-z", "100:101",
                                  "--out", tmp_path, "--dry-run")
    assert code == 2 and "outside the frame" in err
