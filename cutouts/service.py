"""Submitting, cancelling and retrying jobs: what views and the API call."""
from cutouts import limits, logins
from cutouts.dispatch import enqueue


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
