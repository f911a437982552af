"""bossdb sessions configured from the portal's settings, acting as a user (or a credential)."""
from django.conf import settings

from bossdb import Session
from portal.boss.credentials import credential_for


def boss_session(credential, *, read_timeout=None, **hooks):
    """A bossdb.Session on BOSS_URL with `credential` and the given retry, renew and slot hooks.
    Thread-safe: share it between a job's threads."""
    return Session(settings.BOSS_URL, credential, connect_timeout=settings.BOSS_CONNECT_TIMEOUT,
                   read_timeout=read_timeout or settings.BOSS_READ_TIMEOUT, **hooks)


def session_for(user):
    """A page's session acting as `user` (or anonymous): their credential is looked up now, in this thread;
    reads time out after BOSS_PAGE_TIMEOUT (a page answers 504 quickly when BOSS hangs; jobs wait longer)."""
    return boss_session(credential_for(user), read_timeout=settings.BOSS_PAGE_TIMEOUT)
