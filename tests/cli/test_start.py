"""How boss-cutout starts: what it sets up before numpy is imported."""
import os
import subprocess
import sys

from devboss import procs

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
