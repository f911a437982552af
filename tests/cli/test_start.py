"""How boss-cutout starts: what it sets up before numpy is imported."""
import os
import subprocess
import sys

from devboss import procs

from .common import run_cli

SCRIPT = "import os, cutouts.cli, numpy; print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])"


def _start(**env):
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env={**environ, **env}, cwd=procs.REPO,
                          capture_output=True, text=True, check=True)
    threads, setting = proc.stdout.split()
    return int(threads), setting


def test_numpy_starts_without_blas_threads():
    # OpenBLAS's threads spin while numpy is imported: 0.09 CPU s of a command that multiplies no matrix.
    assert _start() == (1, "1")


def test_the_callers_own_blas_setting_wins():
    assert _start(OPENBLAS_NUM_THREADS="2")[1] == "2"


LATER = ("numcodecs", "tifffile", "tqdm", "zarr", "zstandard", "isal", "imagecodecs")  # for a download, not a start


def test_the_command_imports_what_a_download_needs_only_when_it_downloads(devboss, tmp_path):
    # numcodecs (its codec registry reads every package's entry points), tifffile, the progress bar and the
    # compressors took ~0.13 s of every start; a dry run needs none of them, a download has them imported while
    # it waits for BOSS (cutouts.cli._import_ahead), and the web formats' writers (zarr) never.
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    code, _, err = run_cli(devboss, "bossdb://demo/cortex/em", "-x", "0:64", "-y", "0:64", "-z", "100:102",
                           "--out", tmp_path / "dry", "--dry-run", env=env)
    assert code == 0, err
    imported = {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert "bossdb.api" in imported and "requests" in imported
    assert sorted(set(LATER) & imported) == []
    code, _, err = run_cli(devboss, "bossdb://demo/cortex/em", "-x", "0:64", "-y", "0:64", "-z", "100:102",
                           "--out", tmp_path / "out", "--compression", "zstd", env=env)
    assert code == 0, err
    imported = {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert {"numcodecs", "tifffile", "tqdm", "zstandard", "cutouts.pipeline.writers.ctiff"} <= imported
    assert "zarr" not in imported and "cutouts.pipeline.writers.zarr" not in imported
    assert len(list((tmp_path / "out").glob("em_z*.tif"))) == 2
