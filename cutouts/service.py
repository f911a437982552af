"""Submitting, cancelling, retrying and deleting jobs: what views and the API call."""
import logging

from cutouts import limits, logins, storage
from cutouts.dispatch import enqueue
from cutouts.models import CutoutJob

log = logging.getLogger(__name__)


def submit(job, credential=None):
    """Save and queue the job; `credential`, the bearer token of a script's API call, runs the job."""
    logins.attach(job, credential)
    job.save()
    enqueue(job)
    return job


class LimitReached(Exception):
    """A retry would break one of the owner's limits (cutouts.limits); the message names it."""


def retry(job, credential=None):
    """Queue a failed or cancelled job again, under the same per-user limits as a new submission."""
    if job.can_retry:
        problem = limits.submission_problem(job.owner, job)
        if problem:
            raise LimitReached(problem)
    if credential is not None:
        logins.attach(job, credential)
        job.save(update_fields=["token_sealed"])
    if job.retry():
        enqueue(job)
        return True
    return False


class DeleteFailed(Exception):
    """The job's files could not be removed (the storage is unreachable): the job is kept, so that a later
    delete finds them again; the message says what to do."""


def delete(job):
    """Remove the job and its files at once, so that its bytes leave its owner's quota now (not at expiry).

    A job still queued, running or waiting is cancelled first; its worker then stops at its next block (the
    row is gone, so its updates change nothing) and discards what it wrote, and a message still queued for
    it finds no job (cutouts.tasks); a file it publishes after the delete is removed as its finish fails
    (cutouts.engine). Returns False if the job was already gone. Raises DeleteFailed, with the
    job kept (cancelled if it was active), when the storage refuses: a row deleted over files still stored
    would leave them there for good, counted by nobody."""
    running = job.state == CutoutJob.RUNNING
    if job.can_cancel:
        job.cancel()
    try:
        # A running job's worker writes its scratch folder: it discards the folder at its next block, when it
        # finds the job gone (or, if that worker is dead, the reconciler sweeps it: cutouts.upkeep).
        storage.delete_job_files(job, scratch=not running)
    except Exception as exc:  # S3 down, a permission: the caller says so instead of a 500
        log.warning("could not delete the files of job %s: %s: %s", job.pk, type(exc).__name__, exc)
        raise DeleteFailed(f"the job's files could not be deleted just now ({type(exc).__name__}); try again")
    deleted, _ = CutoutJob.objects.filter(pk=job.pk).delete()
    return deleted > 0
