"""The job's state machine, without Celery: the rules that keep two workers off one job."""
from datetime import timedelta

import pytest
from django.utils import timezone

from cutouts.models import CutoutJob


@pytest.fixture
def job(db, django_user_model):
    owner = django_user_model.objects.create_user("carol")
    return CutoutJob.objects.create(owner=owner, collection="c", experiment="e", channels=["ch"], resolution=0,
                                    x0=0, x1=1, y0=0, y1=1, z0=0, z1=1)


def test_a_queued_job_is_started_once(job):
    assert job.start("t1")
    assert job.state == "running" and job.attempts == 1
    assert not CutoutJob.objects.get(pk=job.pk).start("t2")  # its heartbeat is fresh


def test_a_redelivered_job_is_taken_again_only_when_its_worker_went_quiet(job, settings):
    settings.CUTOUT_STALE_SECONDS = 60
    job.start("t1")
    CutoutJob.objects.filter(pk=job.pk).update(heartbeat=timezone.now() - timedelta(seconds=61), blocks_done=5)
    again = CutoutJob.objects.get(pk=job.pk)
    assert again.start("t2")
    assert again.attempts == 2 and again.blocks_done == 0 and again.task_id == "t2"


def test_cancelled_and_finished_jobs_are_not_started(job):
    job.cancel()
    assert not job.start()
    assert job.retry() and job.state == "queued"
    job.start()
    job.plan(3)
    assert job.advance() and job.finish("f.tif", 10)
    assert not job.start() and not job.cancel() and job.state == "done"
    assert job.expire() and job.state == "expired" and job.result_name == ""
