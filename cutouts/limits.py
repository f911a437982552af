"""Per-user limits, so that one user can't fill the queue, the workers or the disk.

- queued jobs (CUTOUT_MAX_QUEUED_PER_USER) and unexpired result bytes (CUTOUT_MAX_RESULT_BYTES_PER_USER):
  checked at submission; a request over one is refused with a message saying when it frees up;
- running jobs (CUTOUT_MAX_RUNNING_PER_USER): checked by the worker as it takes a job, atomically with the
  start (CutoutJob.start); over it, the job stays queued and the task comes back later (cutouts/tasks.py).
"""
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from cutouts.models import CutoutJob


def _gb(n):
    return f"{n / 1e9:.2f} GB"


def submission_problem(user, job=None):
    """A message naming the limit a new job for `user` would break, or None."""
    jobs = CutoutJob.objects.filter(owner=user)
    queued = jobs.filter(state=CutoutJob.QUEUED).count()
    max_queued = settings.CUTOUT_MAX_QUEUED_PER_USER
    if queued >= max_queued:
        return (f"you have {queued} queued jobs, the limit is {max_queued}; "
                "it frees when one of them starts (or when you cancel one)")

    now = timezone.now()
    kept = jobs.filter(state=CutoutJob.DONE, expires__gt=now)
    used = kept.aggregate(total=Sum("result_size"))["total"] or 0
    wanted = job.nbytes if job is not None else 0
    max_bytes = settings.CUTOUT_MAX_RESULT_BYTES_PER_USER
    if used + wanted > max_bytes:
        first = kept.exclude(result_size=None).order_by("expires").first()
        when = (f"; the next result expires at {first.expires:%Y-%m-%d %H:%M} UTC"
                if first else "")
        return (f"your unexpired results take {_gb(used)}; with this cutout ({_gb(wanted)}) that is over "
                f"your limit of {_gb(max_bytes)}{when}")
    return None


