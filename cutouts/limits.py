"""Per-user limits, so that one user can't fill the queue, the workers or the disk.

- queued jobs (CUTOUT_MAX_QUEUED_PER_USER) and unexpired result bytes (CUTOUT_MAX_RESULT_BYTES_PER_USER):
  checked at submission; a request over one is refused with a message saying when it frees up;
- running jobs (CUTOUT_MAX_RUNNING_PER_USER): checked by the worker as it takes a job, atomically with the
  start (CutoutJob.start); over it, the job stays queued and the task comes back later (cutouts/tasks.py).

`quota(user)` is the same count for the jobs page's meter and the API, so what the meter shows is what a
submission is checked against. Sizes are written with portal.units.human_bytes, caps in the same unit.
"""
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from cutouts.models import CutoutJob
from portal.units import human_bytes


@dataclass
class Quota:
    """The owner's unexpired results against their limit, and when the first of them frees its bytes."""

    used: int
    limit: int
    next_expiry: datetime | None
    queued: int
    max_queued: int

    @property
    def fraction(self):
        return min(self.used / self.limit, 1.0) if self.limit > 0 else 1.0

    @property
    def free(self):
        return max(self.limit - self.used, 0)

    def as_json(self):
        return {
            "used_bytes": self.used, "limit_bytes": self.limit, "free_bytes": self.free,
            "used": human_bytes(self.used), "limit": human_bytes(self.limit),
            "next_expiry": self.next_expiry.isoformat() if self.next_expiry else None,
            "queued": self.queued, "max_queued": self.max_queued,
        }


def _kept(user):
    return CutoutJob.objects.filter(owner=user, state=CutoutJob.DONE, expires__gt=timezone.now())


def quota(user):
    kept = _kept(user)
    first = kept.exclude(result_size=None).order_by("expires").first()
    return Quota(
        used=kept.aggregate(total=Sum("result_size"))["total"] or 0,
        limit=settings.CUTOUT_MAX_RESULT_BYTES_PER_USER,
        next_expiry=first.expires if first else None,
        queued=CutoutJob.objects.filter(owner=user, state=CutoutJob.QUEUED).count(),
        max_queued=settings.CUTOUT_MAX_QUEUED_PER_USER,
    )


def submission_problem(user, job=None):
    """A message naming the limit a new job for `user` would break, or None."""
    q = quota(user)
    if q.queued >= q.max_queued:
        return (f"you have {q.queued} queued jobs, the limit is {q.max_queued}; "
                "it frees when one of them starts (or when you cancel one)")
    wanted = job.nbytes if job is not None else 0
    if q.used + wanted > q.limit:
        when = f"; the next result expires at {q.next_expiry:%Y-%m-%d %H:%M} UTC" if q.next_expiry else ""
        return (f"your unexpired results take {human_bytes(q.used)}; with this cutout ({human_bytes(wanted)}) "
                f"that is over your limit of {human_bytes(q.limit)}{when}; delete a finished job on "
                "the jobs page to free its space at once")
    return None
