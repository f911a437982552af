"""The sweeper: the partial files of every job that ended, whatever the way it ended, are deleted by the
reconciler's next round; an active job's scratch folder is left alone (issue: 465 MB of .part files stayed)."""
import pytest

from tests.production.test_limits import make_jobs

pytestmark = pytest.mark.django_db


def test_every_ended_jobs_partial_files_go_and_active_ones_stay(alice, settings, tmp_path):
    from cutouts import storage, upkeep

    settings.CUTOUT_RESULTS_DIR = str(tmp_path / "results")
    settings.CUTOUT_SCRATCH_DIR = ""
    jobs = {state: make_jobs(alice, 1, state)[0]
            for state in ("done", "failed", "cancelled", "running", "queued", "needs_login")}
    for job in jobs.values():
        folder = storage.scratch_folder(job)
        folder.mkdir(parents=True)
        (folder / "em.ome.tif.part").write_bytes(b"\0" * 4096)
        (folder / "progress.json").write_text("{}")
    stray = storage.scratch_root() / "0f0f0f0f-0000-0000-0000-000000000000"  # a job deleted long ago
    stray.mkdir()
    (stray / "x.part").write_bytes(b"\0")

    assert upkeep.reconcile()["swept"] == 4
    left = sorted(p.name for p in storage.scratch_root().iterdir())
    assert left == sorted(str(jobs[s].pk) for s in ("running", "queued", "needs_login"))
    assert not list(storage.scratch_root().rglob("*.part"))[3:]  # only the three active jobs' files remain
    assert upkeep.reconcile()["swept"] == 0
