"""A running job's heartbeat: a thread that writes `CutoutJob.heartbeat` every CUTOUT_HEARTBEAT_SECONDS.

The heartbeat says the worker is alive even while a block takes long (BOSS slow, retries backing off), so the
reconciler (cutouts.upkeep) can take over a job whose worker died within CUTOUT_STALE_SECONDS, tens of
seconds, instead of waiting for a block that will never finish. It also notices, within one beat, that the
job is no longer this run's (cancelled by its owner, or taken over after the heartbeat was late), and tells
the fetch loop to stop.
"""
import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connections

log = logging.getLogger(__name__)


def interval():
    """Several beats per stale period, so that one late beat never makes a live job look dead."""
    return max(0.2, min(float(settings.CUTOUT_HEARTBEAT_SECONDS), settings.CUTOUT_STALE_SECONDS / 4))


class Heartbeat:
    def __init__(self, job):
        self.job = job
        self.lost = threading.Event()  # the job is no longer this run's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.pk}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        return False

    def _run(self):
        try:
            while not self._stop.wait(interval()):
                try:
                    if not self.job.beat():
                        self.lost.set()
                        return
                except DatabaseError as exc:  # the database restarting: the next beat tries again
                    log.warning("heartbeat of job %s not written: %s", self.job.pk, exc)
        finally:
            connections.close_all()
