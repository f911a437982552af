"""Who reads a Zarr URL, and what they see: the public token, or a link's owner, right now.

- `/zarr/public/...` always reads with BOSS_PUBLIC_TOKEN, whoever asks (tools send no cookies, and the
  public chunk cache must hold public data only).
- `/zarr/<secret>/...` reads with the link owner's current credential (their OIDC token, refreshed when
  due, renewed once after BOSS refused it: cutouts.logins does the same for jobs). A revoked, expired,
  unknown or out-of-scope link is refused with 403 on every request: never 404, which Zarr readers take
  for "missing chunk" and fill with zeros.

The channel's layout (zarrview.layout) is built from the portal's BOSS client (metadata cached per user
for BOSS_CACHE_SECONDS) and cached as a whole for as long, per identity: a link's owner who loses access
in BOSS loses it through the link within that time.
"""
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from bossdb import Retry
from bossdb.errors import BossForbidden, BossNotFound, LoginRequired
from cutouts import semaphore
from portal.boss import client
from portal.boss.credentials import credential_for, public_credential
from portal.boss.session import boss_session
from zarrview import layout
from zarrview.models import ZarrLink

LAST_USED_EVERY = 60  # seconds: a link's last use is written at most this often


class Refused(Exception):
    """A link that can't be used (403), or no public access (401)."""

    def __init__(self, message, status=403):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Reader:
    user: object  # None for the public token, else the link's owner
    scope: str  # the cache partition: "public" or "link:<pk>"
    link: ZarrLink = None

    @property
    def identity(self):
        return "public" if self.user is None else f"user:{self.user.pk}"

    def credential(self, fresh=False):
        """The credential to read with, looked up once per request (and again when `fresh`, to renew)."""
        if not fresh and getattr(self, "_credential", None) is not None:
            return self._credential
        self._credential = self._lookup()
        return self._credential

    def _lookup(self):
        if self.user is None:
            return public_credential()
        try:
            return credential_for(self.user)
        except LoginRequired:
            raise LoginRequired(f"The owner of this Zarr link ({self.user.username}) has no valid BOSS login "
                                "right now: they must log in to the portal again for the link to work.") from None

    def session(self):
        """A bossdb session for chunk reads: the jobs' timeouts, a short retry, the shared request cap."""
        renew = None
        if self.user is not None:
            def renew(used):
                fresh = self.credential(fresh=True)
                if fresh == used:
                    raise LoginRequired("BOSS refused the token of this Zarr link's owner: they must log in "
                                        "to the portal again.")
                return fresh
        slot = semaphore.boss_request_slot if settings.ZARR_REQUEST_SLOTS else None
        return boss_session(self.credential(), retry=Retry(settings.ZARR_BOSS_RETRIES, 0.25), renew=renew,
                            slot=slot, renew_margin=settings.OIDC_REFRESH_MARGIN_SECONDS)


def public_reader():
    if not settings.BOSS_PUBLIC_TOKEN:
        raise Refused("This portal serves no public data without a login: use a personal Zarr link "
                      "(/account/zarr-links/).", status=401)
    return Reader(None, "public")


def link_reader(secret, collection, experiment):
    link = ZarrLink.find(secret)
    if link is None:
        raise Refused("This Zarr link does not exist (or was mistyped).")
    state = link.state
    if state != "active":
        raise Refused(f"This Zarr link was {state}" + (f" on {link.expires:%Y-%m-%d %H:%M} UTC."
                                                       if state == "expired" else "."))
    if not link.owner.is_active:
        raise Refused("The owner of this Zarr link can no longer log in.")
    if not link.covers(collection, experiment):
        raise Refused(f"This Zarr link only reads {link.scope}.")
    now = timezone.now()
    if link.last_used is None or (now - link.last_used).total_seconds() > LAST_USED_EVERY:
        ZarrLink.objects.filter(pk=link.pk).update(last_used=now)
    reader = Reader(link.owner, f"link:{link.pk}", link)
    reader.credential()  # the owner must have a usable login right now, even when every chunk is cached
    return reader


def _build(user, collection, experiment, channel):
    detail = client.get_experiment_detail(user, collection, experiment)
    channels = {ch.name: ch for ch in detail.channels}
    if channel not in channels:
        raise BossNotFound(f"Channel {collection}/{experiment}/{channel} does not exist, or you can't read it.")
    if not detail.channel_levels:
        raise BossForbidden(detail.levels_error or "BOSS did not list the resolution levels.")
    ch = channels[channel]
    windows = {} if layout.is_label(ch) else client.display_windows(user, detail, [ch])
    img = layout.image(detail.experiment, detail.frame, ch, detail.channel_levels[channel], windows.get(channel))
    if layout.is_label(ch):
        return img
    labels = []
    for other in detail.channels:
        if layout.is_label(other):
            try:
                labels.append(layout.image(detail.experiment, detail.frame, other,
                                           detail.channel_levels[other.name], label_source="../../"))
            except layout.LayoutError:
                pass  # an annotation channel BOSS serves no level of: not offered as labels
    return layout.with_labels(img, labels)


def image_for(reader, collection, experiment, channel):
    """The layout.Image of the channel as `reader` sees it (BossError, LayoutError otherwise)."""
    key = "zarr:image:" + hashlib.sha256(
        f"{reader.identity}|{settings.BOSS_URL}|{collection}/{experiment}/{channel}".encode()).hexdigest()
    img = cache.get(key)
    if img is None:
        img = _build(reader.user, collection, experiment, channel)
        cache.set(key, img, settings.BOSS_CACHE_SECONDS)
    return img
