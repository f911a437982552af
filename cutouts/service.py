"""Submitting, cancelling and retrying jobs: what views and the API call."""
from django.db import transaction

from cutouts.models import CutoutJob


def enqueue(job):
    from cutouts.tasks import run_cutout

    transaction.on_commit(lambda: run_cutout.apply_async(args=[str(job.pk)]))


def submit(job):
    job.save()
    enqueue(job)
    return job


def retry(job):
    if job.retry():
        enqueue(job)
        return True
    return False
