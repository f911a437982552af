"""Tell a user their job ended: a notice on their next page (middleware), and an e-mail where e-mail is
configured explicitly (settings.CUTOUT_NOTIFY_EMAIL: EMAIL_HOST set in the environment, or
CUTOUT_NOTIFY_EMAIL=1) and the user has an address.

Django's EMAIL_HOST defaults to "localhost", so testing it would mail every finished job into a server that
isn't there. The mail's link is absolute (SITE_URL), as a mail client has no page to resolve a path against.
A notice that can't be sent is one warning line in the log, never a traceback, and never fails the job.
"""
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
    if job.name:
        what = f"“{job.name}”, {what}"
    if job.state == CutoutJob.DONE:
        return f"Your cutout of {what} is ready to download."
    return f"Your cutout of {what} failed: {job.error}"


def job_link(job):
    """The job page's absolute address (SITE_URL + path); just the path when SITE_URL is not set."""
    return settings.SITE_URL.rstrip("/") + reverse("cutout-job", args=[job.pk])


def email_enabled():
    return bool(getattr(settings, "CUTOUT_NOTIFY_EMAIL", False))


def email_owner(job):
    """Mail the owner that `job` ended, where e-mail is configured; True if a mail went out."""
    if not email_enabled() or not job.owner.email or job.state not in ENDED:
        return False
    if not settings.SITE_URL:
        log.warning("e-mail notices are on but SITE_URL is not set: the mail for job %s links a bare path", job.pk)
    body = f"{_text(job)}\n\n{job_link(job)}\n"
    try:
        send_mail(f"BOSS portal: cutout {job.state}", body, None, [job.owner.email], fail_silently=False)
    except Exception as exc:  # a mail server down must not fail a finished job, nor fill the log
        log.warning("could not e-mail the owner of job %s: %s: %s", job.pk, type(exc).__name__, exc)
        return False
    return True


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
