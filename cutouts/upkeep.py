"""Periodic upkeep (Celery beat, or `manage.py cutouts_upkeep`): expire old results, rescue lost jobs."""
import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cutouts import storage
from cutouts.dispatch import enqueue
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
    """A running job with no progress for CUTOUT_STALE_SECONDS lost its worker: send it again, or fail
    it after CUTOUT_MAX_ATTEMPTS, so that no job stays 'running' forever."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CUTOUT_STALE_SECONDS)
    moved = 0
    for job in CutoutJob.objects.filter(state=CutoutJob.RUNNING, heartbeat__lt=cutoff):
        if job.attempts >= settings.CUTOUT_MAX_ATTEMPTS:
            job.fail(f"The job's worker stopped {job.attempts} times without finishing; giving up.")
        elif CutoutJob.objects.filter(pk=job.pk, state=CutoutJob.RUNNING, heartbeat__lt=cutoff).update(
            state=CutoutJob.QUEUED
        ):
            enqueue(job)
            moved += 1
    return moved


def sweep_scratch():
    """Delete the scratch folders that no live job owns (a job cancelled while it waited for a login, a
    worker killed mid-job whose job then ended): nothing in the scratch space outlives its job. Returns how
    many."""
    live = {str(pk) for pk in CutoutJob.objects.filter(state__in=CutoutJob.ACTIVE).values_list("pk", flat=True)}
    return storage.sweep_scratch(keep=live)
