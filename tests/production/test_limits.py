"""Per-user limits: queued jobs and result bytes refuse a submission; running jobs make a worker wait."""
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

BOX = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 200], "y": [0, 200], "z": [100, 104]}


def make_jobs(user, n, state, **fields):
    from cutouts.models import CutoutJob

    return [CutoutJob.objects.create(owner=user, collection="demo", experiment="cortex", channels=["em"],
                                     resolution=0, x0=0, x1=10, y0=0, y1=10, z0=100, z1=101, state=state,
                                     meta={"channels": {"em": {"datatype": "uint8"}}}, **fields)
            for _ in range(n)]


def test_the_eleventh_queued_job_is_refused_until_one_starts(client, alice):
    make_jobs(alice, 10, "queued")
    client.force_login(alice)
    response = client.post("/api/cutouts/", BOX, content_type="application/json")
    assert response.status_code == 400
    message = response.json()["errors"]["limit"]
    assert "you have 10 queued jobs, the limit is 10" in message
    assert "frees when one of them starts" in message


def test_a_user_under_the_queued_limit_may_submit(client, alice, settings, monkeypatch):
    from cutouts import service

    monkeypatch.setattr(service, "enqueue", lambda job: None)  # no worker needed to be accepted
    make_jobs(alice, 9, "queued")
    make_jobs(alice, 5, "done")  # only queued jobs count
    client.force_login(alice)
    assert client.post("/api/cutouts/", BOX, content_type="application/json").status_code == 202


def test_a_cutout_over_the_result_bytes_limit_is_refused_with_the_next_expiry(client, alice, settings):
    settings.CUTOUT_MAX_RESULT_BYTES_PER_USER = 1_000_000
    soon = timezone.now() + timedelta(days=1)
    make_jobs(alice, 1, "done", result_size=900_000, expires=soon, result_name="a.tif")
    make_jobs(alice, 1, "done", result_size=900_000, expires=timezone.now() - timedelta(hours=1))  # expired
    client.force_login(alice)
    response = client.post("/api/cutouts/", BOX, content_type="application/json")  # 160 000 bytes
    assert response.status_code == 400
    message = response.json()["errors"]["limit"]
    assert "your unexpired results take 900 kB" in message and "over your limit of 1.00 MB" in message
    assert f"expires at {soon:%Y-%m-%d %H:%M} UTC" in message


def test_the_form_shows_the_limit(client, alice):
    make_jobs(alice, 10, "queued")
    client.force_login(alice)
    data = {"channels": "em", "resolution": "0", "x0": "0", "x1": "200", "y0": "0", "y1": "200",
            "z0": "100", "z1": "104", "format": "ome-tiff"}
    response = client.post("/c/demo/cortex/cutout/", data)
    assert response.status_code == 400
    assert b"you have 10 queued jobs, the limit is 10" in response.content


def test_a_worker_puts_back_a_job_whose_owner_runs_two_already(alice, bob, monkeypatch):
    from cutouts import validation
    from cutouts.models import CutoutJob
    from cutouts.tasks import run_cutout

    busy = make_jobs(alice, 2, "running")
    job = validation.validate(alice, BOX)
    job.save()
    countdowns = []

    def retry(**kwargs):
        countdowns.append(kwargs["countdown"])
        raise Retry()

    monkeypatch.setattr(run_cutout, "retry", retry)
    with pytest.raises(Retry):
        run_cutout(str(job.pk))
    assert countdowns == [30]
    assert CutoutJob.objects.get(pk=job.pk).state == "queued"

    make_jobs(bob, 3, "running")  # other users' jobs don't count
    busy[0].cancel()
    run_cutout(str(job.pk))
    assert CutoutJob.objects.get(pk=job.pk).state == "done"


@pytest.mark.django_db(transaction=True)
def test_two_workers_starting_one_users_jobs_at_once_never_pass_the_running_limit(alice, settings):
    """Each start counts the owner's running jobs and starts in one transaction that first writes the
    owner's row: of 6 queued jobs started from 6 threads at once, with 1 already running and a limit of
    2, exactly one starts, on SQLite and on PostgreSQL alike."""
    import threading

    from django.db import connections

    from cutouts.models import CutoutJob

    make_jobs(alice, 1, "running")
    queued = make_jobs(alice, 6, "queued")
    barrier = threading.Barrier(len(queued))
    results = {}

    def start(job):
        try:
            barrier.wait()
            results[job.pk] = job.start("task", max_running=2)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start, args=(job,)) for job in queued]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [False] * 5 + [True]
    assert CutoutJob.objects.filter(owner=alice, state="running").count() == 2
    assert CutoutJob.objects.filter(owner=alice, state="queued").count() == 5
