"""Which identity a job calls BOSS with, and what happens when none is left.

- A job submitted over the API calls BOSS with the token it was submitted with (sealed in the job row),
  for as long as that token is valid. Once it expires, the job renews through its owner's stored browser
  session if that session is still alive (and a fresher token the owner sent the API since, if any).
- A browser-submitted job calls BOSS with its owner's session, renewed as the session allows.
- When no valid token is left, the job does not fail: it waits in "needs login", its finished blocks kept,
  and goes back to the queue as soon as its owner logs in in a browser or makes any authenticated API
  call (that call's token is attached to the owner's waiting jobs). After CUTOUT_LOGIN_GRACE_SECONDS it
  fails with a message saying which token expired and what to do.
"""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from bossdb.errors import LoginRequired
from cutouts import sealing
from cutouts.dispatch import enqueue
from cutouts.models import CutoutJob
from portal.boss.credentials import credential_for

WAITING = ("Waiting for you to log in: {why} Log in to the portal (or call its API with a fresh access token) "
           "and the job resumes by itself, keeping the blocks it has; it fails if nobody does by {deadline} UTC.")


def attach(job, credential):
    """Keep the bearer token a script submitted the job with (sealed), to run the job with."""
    if credential is not None and credential.scheme == "Bearer":
        job.token_sealed = sealing.seal(credential.value)


def _margin():
    return settings.OIDC_REFRESH_MARGIN_SECONDS


def _session_credential(owner):
    """The owner's stored browser session's token (renewed if due), or None when that session is gone."""
    try:
        return credential_for(owner)
    except LoginRequired:
        return None


def first_credential(job):
    """The credential a job starts with: its script token while valid, else its owner's session."""
    script = sealing.unseal(job.token_sealed)
    if script is not None and not script.expiring(_margin()):
        return script
    session = _session_credential(job.owner)
    if session is None:
        raise LoginRequired(_why(job, script))
    return session


def renewer(job):
    """The renew hook of the job's BOSS session: the owner's session if alive, else a fresher script token
    attached since; LoginRequired (the job then waits for a login) when neither is left."""

    def renew(used):
        session = _session_credential(job.owner)
        if session is not None and session != used:
            return session
        row = CutoutJob.objects.filter(pk=job.pk).values_list("token_sealed", flat=True).first()
        script = sealing.unseal(row or "")
        if script is not None and script != used and not script.expiring(_margin()):
            return script
        raise LoginRequired(_why(job, script))

    return renew


def _why(job, script):
    if job.token_sealed or script is not None:
        return ("the access token this job was submitted with has expired (or BOSS refused it), and your "
                "portal session has ended.")
    return "your portal session has ended, so your BOSS token can't be renewed."


def wait_for_login(job, reason):
    deadline = timezone.now() + timedelta(seconds=settings.CUTOUT_LOGIN_GRACE_SECONDS)
    return job.wait_for_login(WAITING.format(why=reason, deadline=f"{deadline:%Y-%m-%d %H:%M}"))


def resume_waiting_jobs(user, credential=None):
    """The owner is back (a login, or an API call with `credential`): their waiting jobs go back to the queue,
    with that credential attached. Returns how many."""
    waiting = list(CutoutJob.objects.filter(owner=user, state=CutoutJob.NEEDS_LOGIN))
    resumed = 0
    for job in waiting:
        if credential is not None and credential.scheme == "Bearer":
            CutoutJob.objects.filter(pk=job.pk).update(token_sealed=sealing.seal(credential.value))
        if job.resume():
            enqueue(job)
            resumed += 1
    return resumed


def fail_unclaimed(now=None):
    """Fail the jobs that waited for a login longer than the grace period. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CUTOUT_LOGIN_GRACE_SECONDS)
    count = 0
    for job in CutoutJob.objects.filter(state=CutoutJob.NEEDS_LOGIN, waiting_since__lt=cutoff):
        script = bool(job.token_sealed)
        which = ("the access token it was submitted with expired and your portal session ended" if script
                 else "your portal session ended")
        if job.fail(f"No valid BOSS token was left ({which}), and nobody logged in for "
                    f"{settings.CUTOUT_LOGIN_GRACE_SECONDS // 3600} hours. Log in and retry the job: it starts "
                    "again from the beginning."):
            count += 1
    return count


def on_login(sender, request, user, **kwargs):
    resume_waiting_jobs(user)


def on_bearer(sender, user, credential, **kwargs):
    if CutoutJob.objects.filter(owner=user, state=CutoutJob.NEEDS_LOGIN).exists():
        resume_waiting_jobs(user, credential)
