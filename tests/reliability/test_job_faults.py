"""Cutout jobs meeting a misbehaving BOSS, over the wire: a real worker process on a real Redis fetches
from a devboss of our own whose fault injection we switch on (slow, failing, truncated, hanging answers),
and writes to a 24 MiB tmpfs when the machine lets us mount one (disk full)."""
import errno
import shutil
import os
import subprocess
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tifffile

from cutouts import service
from cutouts.validation import validate
from devboss import procs
from devboss.api import procedural
from tests.jobs import settle_worker
from tests.reliability.conftest import (
    cutouts_served, reset_faults, set_faults, start_redis, user_with_token, wait_for_job, wait_until,
)

TMPFS_BYTES = 24 * 1024 * 1024
READ_TIMEOUT = 1  # seconds; a hanging devboss sleeps longer than this, a slow one half as long
RETRIES = 12
# Seconds, doubled per retry: 0.4 s in all over the 12 retries of a block that always fails (no test here
# measures the backoff; at 0.002 s it added 8 s to each such test).
RETRY_BACKOFF = 0.0001


def _mount_tmpfs(path):
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(path)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="module")
def stack(fault_devboss, django_db_setup, django_db_blocker, tmp_path_factory):
    """A Redis and one worker (concurrency 1) of this module's own, on the fault devboss, writing to a
    small tmpfs when mounting works here (root), else to a plain folder."""
    from django.db import connection

    root = tmp_path_factory.mktemp("job-faults")
    results = root / "results"
    mounted = _mount_tmpfs(results)
    results.mkdir(exist_ok=True)
    port = procs.free_port()
    redis = start_redis(port, root / "redis")
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = worker_env_for(connection.settings_dict, fault_devboss, redis_url, results)
    from tests.reliability.conftest import start_worker

    worker = start_worker(env, root / "worker.log")
    yield {"redis_url": redis_url, "results": results, "tmpfs": mounted, "worker": worker,
           "log": root / "worker.log"}
    procs.stop(worker)
    procs.stop(redis)
    reset_faults(fault_devboss)
    if mounted:
        subprocess.run(["umount", str(results)], check=False)


def worker_env_for(settings_dict, devboss, redis_url, results):
    from tests.reliability.conftest import worker_env

    return worker_env(settings_dict, devboss, redis_url, {
        "CUTOUT_RESULTS_DIR": str(results),
        "BOSS_READ_TIMEOUT": str(READ_TIMEOUT),
        "CUTOUT_BLOCK_RETRIES": str(RETRIES),
        "CUTOUT_RETRY_BACKOFF": str(RETRY_BACKOFF),
        "LOG_LEVEL": "INFO",
    })


@pytest.fixture
def alice(transactional_db, fault_devboss, stack, point_at):
    point_at(fault_devboss, stack["redis_url"], stack["results"])
    reset_faults(fault_devboss)
    yield user_with_token(fault_devboss, "alice")
    settle_worker(stack["redis_url"])
    reset_faults(fault_devboss)
    for path in stack["results"].iterdir():  # keep the tmpfs empty for the next test
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def submit(user, channel="em", x=(0, 1024), y=(0, 1024), z=(100, 108), **extra):
    request = {"collection": "demo", "experiment": "cortex", "channels": [channel], "resolution": 0,
               "x": list(x), "y": list(y), "z": list(z), **extra}
    return service.submit(validate(user, request))


def source(channel, datatype, kind, x, y, z):
    return procedural.cutout(f"demo/cortex/{channel}", datatype, kind, 0, x, y, z, (0, 1))[0]


def job_files(job):
    """Files of the job anywhere under the results folder (its folder, or its scratch folder)."""
    from django.conf import settings

    root = Path(settings.CUTOUT_RESULTS_DIR)
    return [p for p in root.rglob("*") if p.is_file() and str(job.pk) in str(p)]


def assert_no_files(job):
    assert job_files(job) == []


def test_a_cancelled_running_job_stops_leaves_no_file_and_the_worker_takes_the_next(alice, fault_devboss):
    set_faults(fault_devboss, delay_rate=1.0, delay_seconds=READ_TIMEOUT / 2)
    slow = submit(alice, x=(0, 2048), y=(0, 2048), z=(100, 104))  # 16 blocks of 1 MiB, 0.5 s each
    nxt = submit(alice, x=(0, 300), y=(0, 300), z=(100, 104))
    def progressed():
        slow.refresh_from_db()
        return slow.blocks_done >= 2 or slow.state not in ("queued", "running")

    wait_until(progressed, 60, message="progress")
    slow.refresh_from_db()
    assert slow.state == "running" and slow.blocks_done < slow.blocks_total, (slow.state, slow.error)
    assert slow.cancel()
    reset_faults(fault_devboss)
    nxt = wait_for_job(nxt, timeout=90)
    assert nxt.state == "done", nxt.error
    np.testing.assert_array_equal(tifffile.imread(nxt.result_path),
                                  source("em", "uint8", "image", (0, 300), (0, 300), (100, 104)))
    slow.refresh_from_db()
    assert slow.state == "cancelled"
    assert slow.blocks_done < slow.blocks_total
    assert_no_files(slow)


def test_transient_errors_and_truncated_answers_are_retried_to_the_exact_voxels(alice, fault_devboss):
    set_faults(fault_devboss, error_rate=0.25, truncate_rate=0.25)  # a block fails all 13 tries with p ~ 2e-5
    # 32 blocks (4 x 4 cuboids, z across a cuboid boundary), 17 MB on the 24 MiB tmpfs. A block's answers are
    # whole before any is cut short with p = 0.75 (errors aside): with 12 blocks no answer at all came back cut
    # short in about one run in 30 (0.75^12), and the count below failed; with 32, 0.75^32 ~ 1e-4.
    x, y, z = (0, 2048), (0, 2048), (110, 114)
    job = wait_for_job(submit(alice, x=x, y=y, z=z), timeout=180)
    assert job.state == "done", job.error
    served = cutouts_served(fault_devboss)
    # Only truncated and whole answers are counted: more of them than blocks means some came back cut short.
    assert served > job.blocks_total, (served, job.blocks_total)
    np.testing.assert_array_equal(tifffile.imread(job.result_path), source("em", "uint8", "image", x, y, z))


def test_a_job_whose_blocks_always_fail_ends_failed_with_bosss_reason_and_no_file(alice, fault_devboss):
    set_faults(fault_devboss, error_rate=1.0)
    job = wait_for_job(submit(alice), timeout=120)
    assert job.state == "failed"
    assert "simulated server error" in job.error and f"after {RETRIES + 1} tries" in job.error, job.error
    assert job.result_name == ""
    assert_no_files(job)


def test_a_hanging_boss_is_retried_then_the_job_fails_with_a_timeout(alice, fault_devboss):
    set_faults(fault_devboss, delay_rate=1.0, delay_seconds=READ_TIMEOUT + 2)
    job = wait_for_job(submit(alice, x=(0, 512), y=(0, 512), z=(100, 104)), timeout=150)
    assert job.state == "failed"
    assert "did not answer in time" in job.error and f"after {RETRIES + 1} tries" in job.error, job.error
    assert_no_files(job)


def test_a_full_disk_fails_the_job_with_no_space_and_spares_the_next(alice, stack):
    if not stack["tmpfs"]:
        pytest.skip("mounting a tmpfs is not allowed here (the in-process test below covers ENOSPC)")
    big = submit(alice, x=(0, 2048), y=(0, 2048), z=(100, 108))  # 32 MiB into a 24 MiB tmpfs
    small = submit(alice, x=(0, 500), y=(0, 400), z=(100, 104))
    big = wait_for_job(big, timeout=120)
    assert big.state == "failed"
    assert "no space" in big.error.lower(), big.error
    assert_no_files(big)
    small = wait_for_job(small, timeout=120)
    assert small.state == "done", small.error
    np.testing.assert_array_equal(tifffile.imread(small.result_path),
                                  source("em", "uint8", "image", (0, 500), (0, 400), (100, 104)))
    free = os.statvfs(stack["results"])
    assert free.f_bavail * free.f_frsize > TMPFS_BYTES - 2 * 1024 * 1024  # the partial file's space came back


def test_enospc_in_an_in_process_run_fails_the_job_and_cleans_up(alice, settings, tmp_path):
    from cutouts import engine

    settings.CUTOUT_RESULTS_DIR = tmp_path
    settings.CUTOUT_BLOCK_BYTES = 1024 * 1024
    job = validate(alice, {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
                           "x": [0, 1024], "y": [0, 1024], "z": [100, 104]})
    job.save()
    assert job.start("in-process")
    real_pwrite, real_pwritev = os.pwrite, os.pwritev
    calls = []

    def full(real):  # the disk fills up after a few writes, whichever call writes
        def write(fd, data, offset):
            calls.append(offset)
            if len(calls) > 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd, data, offset)
        return write

    with mock.patch("os.pwrite", full(real_pwrite)), mock.patch("os.pwritev", full(real_pwritev)):
        engine.run(job)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "no space" in job.error.lower(), job.error
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
