"""Sending a job to a worker: the one place that queues the `cutouts.run_cutout` task (cutouts/tasks.py),
and the one place that looks into the broker for the messages waiting there (the reconciler's question).

The task goes by its name, so this module needs nothing from cutouts.tasks, and imports run one way:
views and the API → service → dispatch, and tasks → upkeep → dispatch.
"""
import json
import logging

from django.db import transaction
from django.utils import timezone

from cutouts.models import CutoutJob
from portal.celery import app

log = logging.getLogger(__name__)

RUN_CUTOUT = "cutouts.run_cutout"
QUEUE = "celery"  # the jobs' queue (Celery's default); the periodic upkeep has its own, "upkeep"
# kombu's Redis transport keeps a queue's messages of priority p > 0 in a list of their own (its
# priority_steps 0, 3, 6, 9; this separator).
_PRIORITY_LISTS = [QUEUE] + [f"{QUEUE}\x06\x16{p}" for p in (3, 6, 9)]


def enqueue(job):
    """Queue the job once the transaction that saved it commits (the worker reads the row). The job is
    touched (its message seen now), so the reconciler leaves it alone while the message travels."""
    CutoutJob.objects.filter(pk=job.pk, state=CutoutJob.QUEUED).update(heartbeat=timezone.now())
    transaction.on_commit(lambda: app.send_task(RUN_CUTOUT, args=[str(job.pk)], queue=QUEUE))


def queued_job_ids():
    """The job ids of the messages waiting in the broker's job queue (not yet delivered to a worker); empty
    when the broker can't say (then every lost-looking job is sent again: a duplicate is harmless).
    Celery's message headers carry the task's arguments in clear (argsrepr), so a scan finds the ids."""
    try:
        with app.connection_for_write() as conn:
            client = getattr(conn.default_channel, "client", None)
            if client is None or not hasattr(client, "lrange"):
                return set()
            found = set()
            for name in _PRIORITY_LISTS:
                for raw in client.lrange(name, 0, -1):
                    found.update(_job_ids(raw))
            return found
    except Exception as exc:  # the broker down: nothing is known to be waiting
        log.warning("could not read the job queue: %s", exc)
        return set()


def _job_ids(raw):
    try:
        message = json.loads(raw)
        argsrepr = message.get("headers", {}).get("argsrepr", "")
    except (ValueError, AttributeError):
        return ()
    return [a.strip(" '\"") for a in argsrepr.strip("[]() ").split(",") if a.strip(" '\"")]
