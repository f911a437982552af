"""The crash suite (bench/crash.py) under the real `make run` supervisor: 20 jobs of two users while the
worker's pool child, the worker, beat, Redis, devboss and the portal are each SIGKILLed twice at random
moments. Nothing is lost, stuck, corrupt or left behind, and `make run` stays up through every crash."""
import pytest

from bench import crash


@pytest.mark.timeout(900)
def test_twenty_jobs_survive_every_kind_of_crash(tmp_path):
    report = crash.run(jobs=20, rounds=2, seed=7, folder=tmp_path / "stack", say=lambda *_: None)
    print("\n", report)
    assert report["submitted"] == 20
    assert report["lost"] == 0
    assert report["stuck"] == 0
    assert report["done"] + len(report["failed"]) == 20
    assert all(report["failed"]), "every failed job says why"
    assert report["compared"] == report["done"] and report["corrupt"] == 0
    assert report["partial_files"] == 0
    assert report["orphans"] == 0
    # Every process killed (but the pool child, which Celery replaces itself) was started again.
    assert report["restarts"] >= sum(n for kind, n in report["kills"].items() if kind != "worker-child")
    assert sum(report["kills"].values()) >= 10
