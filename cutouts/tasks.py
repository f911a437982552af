"""Thin Celery tasks: load the job, call plain functions (cutouts.engine, cutouts.upkeep)."""
import logging

from celery import shared_task
from django.conf import settings

from cutouts import engine, logins, upkeep
from cutouts.dispatch import RUN_CUTOUT
from cutouts.models import CutoutJob

log = logging.getLogger(__name__)


@shared_task(bind=True, name=RUN_CUTOUT, acks_late=True, reject_on_worker_lost=True)
def run_cutout(self, job_id):
    """Acknowledged late: a worker killed mid-job leaves the message to be redelivered. The job then resumes
    from its finished blocks, once its heartbeat shows the first run is dead (cutouts.models.CutoutJob.start);
    until then the message waits and looks again."""
    job = CutoutJob.objects.filter(pk=job_id).select_related("owner").first()
    if job is None:
        return  # deleted
    task_id = self.request.id or ""
    if not job.start(task_id, max_running=settings.CUTOUT_MAX_RUNNING_PER_USER):
        if job.state == CutoutJob.QUEUED:
            # The owner already runs their share: the job stays queued and the task comes back later.
            job.touch()
            raise self.retry(countdown=settings.CUTOUT_REQUEUE_SECONDS, max_retries=None)
        if job.state == CutoutJob.RUNNING:
            if job.task_id and job.task_id != task_id:
                # A second message for a job a live worker runs (the reconciler sent one while the first
                # was on its way): that run finishes the job, and the reconciler sends again if it dies.
                log.info("job %s runs on a live worker (message %s); message %s not needed",
                         job.pk, job.task_id, task_id)
                return
            # This job's own message, redelivered while the heartbeat of the run it left is still fresh
            # (its worker was killed moments ago): look again once that heartbeat would be stale.
            log.info("job %s: redelivered while its last heartbeat is fresh; looking again in %ss",
                     job.pk, settings.CUTOUT_STALE_SECONDS)
            raise self.retry(countdown=settings.CUTOUT_STALE_SECONDS, max_retries=None)
        return  # cancelled, finished, or waiting for a login: nothing to do
    engine.run(job)


@shared_task(name="cutouts.expire_results")
def expire_results():
    return upkeep.expire_results()


@shared_task(name="cutouts.reconcile")
def reconcile():
    return upkeep.reconcile()


@shared_task(name="cutouts.requeue_stale_jobs")
def requeue_stale_jobs():
    """Kept for beat schedules written before `cutouts.reconcile`."""
    return upkeep.requeue_stale_jobs()


@shared_task(name="cutouts.fail_unclaimed_jobs")
def fail_unclaimed_jobs():
    """Jobs that waited for a login longer than CUTOUT_LOGIN_GRACE_SECONDS fail; stray scratch goes."""
    failed = logins.fail_unclaimed()
    upkeep.sweep_scratch()
    return failed
