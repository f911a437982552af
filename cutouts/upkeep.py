"""Periodic upkeep (Celery beat, on the "upkeep" queue): the database is the source of truth for jobs.

`reconcile` (every CUTOUT_RECONCILE_SECONDS) makes the broker agree with the database: a running job whose
heartbeat stopped lost its worker and is sent again (it resumes from its finished blocks), a queued job whose
message is gone (a Redis that lost its data, a worker that died holding it) is sent again, and the scratch
folders of jobs that ended are deleted. `expire_results` deletes the files of jobs past their expiry.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cutouts import storage
from cutouts.dispatch import enqueue, queued_job_ids
from cutouts.models import CutoutJob

log = logging.getLogger(__name__)


def expire_results(now=None):
    """Delete the files of jobs past their expiry date and mark them expired. Returns how many."""
    now = now or timezone.now()
    count = 0
    for job in CutoutJob.objects.filter(state=CutoutJob.DONE, expires__lte=now):
        storage.delete_job_files(job)
        if job.expire():
            count += 1
    return count


def requeue_stale_jobs(now=None):
    """A running job whose heartbeat is older than CUTOUT_STALE_SECONDS lost its worker: queue it again (it
    resumes from the blocks it recorded), or fail it once CUTOUT_MAX_ATTEMPTS runs ended that way, so that
    no job stays 'running' for ever. Returns how many were queued again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CUTOUT_STALE_SECONDS)
    moved = 0
    for job in CutoutJob.objects.filter(state=CutoutJob.RUNNING, heartbeat__lt=cutoff):
        if job.attempts >= settings.CUTOUT_MAX_ATTEMPTS:
            job.fail(f"The job's worker stopped {job.attempts} times without finishing; giving up.")
            log.warning("job %s failed: its worker stopped %s times", job.pk, job.attempts)
        elif CutoutJob.objects.filter(pk=job.pk, state=CutoutJob.RUNNING, heartbeat__lt=cutoff).update(
            state=CutoutJob.QUEUED, heartbeat=now
        ):
            log.warning("job %s: its worker stopped (no heartbeat since %s); queued again", job.pk, job.heartbeat)
            enqueue(job)
            moved += 1
    return moved


def resend_lost_messages(now=None):
    """A queued job whose message is gone is sent again. Gone: nothing touched the job for the time a waiting
    message takes to come back (CUTOUT_REQUEUE_SECONDS) plus CUTOUT_STALE_SECONDS, and no message for it is
    waiting in the broker's queue (a long queue behind busy workers is not a lost message). A duplicate is
    harmless: the first message takes the job, the others find it taken. Returns how many were sent."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CUTOUT_REQUEUE_SECONDS + settings.CUTOUT_STALE_SECONDS)
    lost = CutoutJob.objects.filter(state=CutoutJob.QUEUED).exclude(heartbeat__gte=cutoff)
    candidates = list(lost.values_list("pk", flat=True))
    if not candidates:
        return 0
    waiting = queued_job_ids()
    sent = 0
    for pk in candidates:
        if str(pk) in waiting:
            continue
        if CutoutJob.objects.filter(pk=pk, state=CutoutJob.QUEUED).exclude(heartbeat__gte=cutoff).update(
            heartbeat=now
        ):
            log.warning("job %s: queued with no message left in the broker; sent again", pk)
            enqueue(CutoutJob(pk=pk))
            sent += 1
    return sent


def sweep_scratch():
    """Delete the scratch folders that no live job owns (a job cancelled while it waited for a login, a
    worker killed mid-job whose job then ended): nothing in the scratch space outlives its job. Returns how
    many."""
    live = {str(pk) for pk in CutoutJob.objects.filter(state__in=CutoutJob.ACTIVE).values_list("pk", flat=True)}
    return storage.sweep_scratch(keep=live)


def reconcile(now=None):
    """One round of the reconciler; returns what it did, for the log."""
    return {"requeued": requeue_stale_jobs(now), "resent": resend_lost_messages(now), "swept": sweep_scratch()}
