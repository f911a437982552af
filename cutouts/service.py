"""Submitting, cancelling, retrying and deleting jobs: what views and the API call."""
from cutouts import limits, logins, storage
from cutouts.dispatch import enqueue
from cutouts.models import CutoutJob


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


def delete(job):
    """Remove the job and its files at once, so that its bytes leave its owner's quota now (not at expiry).

    A job still queued, running or waiting is cancelled first; its worker then stops at its next block (the
    row is gone, so its updates change nothing) and discards what it wrote, and a message still queued for
    it finds no job (cutouts.tasks). Returns False if the job was already gone."""
    if job.can_cancel:
        job.cancel()
    storage.delete_job_files(job)
    deleted, _ = CutoutJob.objects.filter(pk=job.pk).delete()
    return deleted > 0
