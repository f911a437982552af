"""Thin Celery tasks: load the job, call plain functions (cutouts.engine, cutouts.upkeep)."""
from celery import shared_task
from django.conf import settings

from cutouts import engine, logins, upkeep
from cutouts.dispatch import RUN_CUTOUT
from cutouts.models import CutoutJob


@shared_task(bind=True, name=RUN_CUTOUT, acks_late=True, reject_on_worker_lost=True)
def run_cutout(self, job_id):
    """Acknowledged late: a worker killed mid-job leaves the message to be redelivered, and the job
    then starts over (a redelivered running job is taken again by `start`)."""
    job = CutoutJob.objects.filter(pk=job_id).select_related("owner").first()
    if job is None:
        return  # deleted
    if not job.start(self.request.id or "", max_running=settings.CUTOUT_MAX_RUNNING_PER_USER):
        if job.state == CutoutJob.QUEUED:
            # The owner already runs their share: the job stays queued and the task comes back later.
            raise self.retry(countdown=settings.CUTOUT_REQUEUE_SECONDS, max_retries=None)
        return  # cancelled, finished, or running on a live worker: nothing to do
    engine.run(job)


@shared_task(name="cutouts.expire_results")
def expire_results():
    return upkeep.expire_results()


@shared_task(name="cutouts.requeue_stale_jobs")
def requeue_stale_jobs():
    return upkeep.requeue_stale_jobs()


@shared_task(name="cutouts.fail_unclaimed_jobs")
def fail_unclaimed_jobs():
    """Jobs that waited for a login longer than CUTOUT_LOGIN_GRACE_SECONDS fail; stray scratch goes."""
    failed = logins.fail_unclaimed()
    upkeep.sweep_scratch()
    return failed
