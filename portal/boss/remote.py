"""intern's BossRemote for a user, sending that user's credential, with a timeout on every request."""
from urllib.parse import urlsplit

import requests
from django.conf import settings
from intern.remote.boss import BossRemote

from portal.boss.credentials import Credential, credential_for


class CredentialAuth(requests.auth.AuthBase):
    """Set the Authorization header after intern set its hard-coded `Token ...` one."""

    def __init__(self, credential: Credential):
        self.credential = credential

    def __call__(self, r):
        r.headers["Authorization"] = f"{self.credential.scheme} {self.credential.value}"
        return r


def remote_for_credential(credential: Credential) -> BossRemote:
    parts = urlsplit(settings.BOSS_URL)
    # intern pastes host verbatim, so a path prefix (host/boss) survives; the token here is a placeholder
    # that CredentialAuth replaces, so that a `%` in a real token can't break intern's INI parsing.
    rmt = BossRemote({"protocol": parts.scheme, "host": parts.netloc + parts.path, "token": "placeholder"})
    timeout = (settings.BOSS_CONNECT_TIMEOUT, settings.BOSS_READ_TIMEOUT)
    for svc in (rmt.project_service, rmt.metadata_service, rmt.volume_service):
        svc.session.auth = CredentialAuth(credential)
        svc.session_send_opts = {**svc.session_send_opts, "timeout": timeout}
    return rmt


def remote_for(user) -> BossRemote:
    """A BossRemote acting as `user` (or anonymous). One per request or thread: sessions aren't shared."""
    return remote_for_credential(credential_for(user))


def session_for(user) -> requests.Session:
    """A plain requests session with the user's credential, for BOSS endpoints intern lacks (downsample)."""
    session = requests.Session()
    session.auth = CredentialAuth(credential_for(user))
    return session
