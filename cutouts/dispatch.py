"""Sending a job to a worker: the one place that queues the `cutouts.run_cutout` task (cutouts/tasks.py).

The task goes by its name, so this module needs nothing from cutouts.tasks, and imports run one way:
views and the API → service → dispatch, and tasks → upkeep → dispatch.
"""
from django.db import transaction

from portal.celery import app

RUN_CUTOUT = "cutouts.run_cutout"


def enqueue(job):
    """Queue the job once the transaction that saved it commits (the worker reads the row)."""
    transaction.on_commit(lambda: app.send_task(RUN_CUTOUT, args=[str(job.pk)]))
