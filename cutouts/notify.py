"""Tell a user their job ended: a notice on their next page (middleware), and an e-mail when the portal
has e-mail configured (EMAIL_HOST) and the user has an address."""
import logging

from django.conf import settings
from django.contrib import messages
from django.core.mail import send_mail
from django.urls import reverse

from cutouts.models import CutoutJob

log = logging.getLogger(__name__)

ENDED = (CutoutJob.DONE, CutoutJob.FAILED)


def _text(job):
    what = f"{job.collection}/{job.experiment} ({', '.join(job.channels)}, level {job.resolution})"
    if job.state == CutoutJob.DONE:
        return f"Your cutout of {what} is ready to download."
    return f"Your cutout of {what} failed: {job.error}"


def email_owner(job):
    if not getattr(settings, "EMAIL_HOST", "") or not job.owner.email or job.state not in ENDED:
        return
    try:
        send_mail(f"BOSS portal: cutout {job.state}", _text(job) + "\n\n" + reverse("cutout-job", args=[job.pk]),
                  None, [job.owner.email], fail_silently=False)
    except Exception:  # a mail server down must not fail a finished job
        log.warning("could not e-mail the owner of job %s", job.pk, exc_info=True)


class JobNoticeMiddleware:
    """On a page view, turn the user's jobs that ended since their last page into notices, once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and request.method == "GET"
                and not request.path.startswith(("/api/", "/static/")) and request.GET.get("format") != "json"):
            ended = list(CutoutJob.objects.filter(owner=user, state__in=ENDED, notified=False)[:10])
            for job in ended:
                if CutoutJob.objects.filter(pk=job.pk, notified=False).update(notified=True):
                    level = messages.SUCCESS if job.state == CutoutJob.DONE else messages.ERROR
                    messages.add_message(request, level, _text(job))
        return self.get_response(request)
