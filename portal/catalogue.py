"""The catalogue on the home page: every experiment the visitor can read, as a card, and its thumbnail.

Cards come from BOSS metadata read with the visitor's own identity (portal.boss.client, cached per user),
in parallel and under ONE deadline, BOSS_PAGE_TIMEOUT for the whole page: a hung BOSS makes the page say
what it could not read in time, never wait longer. Lookups still running at the deadline finish in the
background and fill the cache, so a reload shows more.

A thumbnail is the middle z-section of the first image channel at the coarsest level BOSS serves for it, a
PNG, cached per caller (a user's id, or "public" for anonymous visitors): a private thumbnail is never
stored where another caller's key can reach it, and the response is `Cache-Control: private`.
"""
import hashlib
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError, wait
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache
from PIL import Image

import bossdb
from bossdb import errors
from portal.boss import client
from portal.units import human_bytes

THREADS = 8
THUMB_PIXELS = 256  # the longer side of a thumbnail
THUMB_MAX_SECTION = 2048  # refuse to read a coarsest section larger than this on a side
THUMB_CACHE_SECONDS = 3600
SKIPPED = (errors.BossForbidden, errors.BossNotFound)  # listed but not readable by this caller: no card


@dataclass
class Card:
    collection: client.Collection
    experiment: client.Experiment
    frame: client.CoordFrame = None
    channels: list = field(default_factory=list)

    @property
    def public(self):
        return bool(self.experiment.public)

    @property
    def image_channel(self):
        """The channel the thumbnail shows: the first image channel (None: no thumbnail)."""
        return next((ch for ch in self.channels if ch.type != "annotation"), None)

    @property
    def level0_bytes(self):
        """Uncompressed bytes of the whole frame at level 0, all channels and time samples."""
        if self.frame is None or not self.channels:
            return None
        voxels = int(np.prod(self.frame.extent))
        per_voxel = sum(np.dtype(ch.datatype).itemsize for ch in self.channels if _known_dtype(ch.datatype))
        return voxels * per_voxel * max(1, int(self.experiment.num_time_samples or 1))

    @property
    def level0_size(self):
        return human_bytes(self.level0_bytes) if self.level0_bytes is not None else ""

    def matches(self, needle):
        """`needle` (lower case) in the collection's or experiment's name or description, or a channel name."""
        words = [self.collection.name, self.collection.description, self.experiment.name,
                 self.experiment.description, *(ch.name for ch in self.channels)]
        return any(needle in (w or "").lower() for w in words)


def _known_dtype(name):
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


@dataclass
class Catalogue:
    cards: list
    q: str = ""
    late: int = 0  # experiments (or collections) BOSS did not describe before the deadline
    error: str = ""  # BOSS could not even list the collections
    total: int = 0  # cards before the search


def build(user, q="", refresh=False, timeout=None):
    """The Catalogue `user` (or an anonymous visitor) can read, searched for `q`, within `timeout` s."""
    who = client.caller(user)
    who.session  # the credential is looked up here, in the request's thread (it may touch the database)
    deadline = time.monotonic() + (settings.BOSS_PAGE_TIMEOUT if timeout is None else timeout)
    pool = ThreadPoolExecutor(THREADS)
    try:
        return _gather(pool, who, q.strip(), refresh, deadline)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _left(deadline):
    return max(0.0, deadline - time.monotonic())


def _gather(pool, who, q, refresh, deadline):
    try:
        names = pool.submit(client.list_collections, who, refresh=refresh).result(timeout=_left(deadline))
    except TimeoutError:
        return Catalogue([], q, error="BOSS did not answer in time.")
    except (errors.BossUnavailable, errors.BossThrottled) as exc:
        return Catalogue([], q, error=exc.message)
    colls, late = _results(pool, deadline, names, lambda n: _collection(who, n, refresh))
    pairs = [(coll, e) for coll, exps in colls if coll is not None for e in exps]
    cards, late_cards = _results(pool, deadline, pairs, lambda pair: _card(who, *pair, refresh))
    cards = [c for c in cards if c is not None]
    total = len(cards)
    if q:
        cards = [c for c in cards if c.matches(q.lower())]
    return Catalogue(cards, q, late=late + late_cards, total=total)


def _results(pool, deadline, items, fn):
    """[fn(item)] for those done by the deadline, in order, and how many were not (or failed on BOSS)."""
    futures = [pool.submit(fn, item) for item in items]
    wait(futures, timeout=_left(deadline))
    done, late = [], 0
    for future in futures:
        if not future.done():
            late += 1
            continue
        try:
            done.append(future.result())
        except errors.LoginRequired:
            raise
        except errors.BossError:
            late += 1
    return done, late


def _collection(who, name, refresh):
    """(Collection, [experiment names]), or (None, []) when this caller may not read it."""
    try:
        coll = client.get_collection(who, name, refresh=refresh)
        return coll, client.list_experiments(who, name, refresh=refresh)
    except SKIPPED:
        return None, []


def _card(who, coll, name, refresh):
    try:
        exp = client.get_experiment(who, coll.name, name, refresh=refresh)
    except SKIPPED:
        return None
    card = Card(coll, exp)
    try:
        card.frame = client.get_coord_frame(who, exp.coord_frame, refresh=refresh)
    except SKIPPED:
        pass
    try:
        card.channels = client.get_channels(who, coll.name, name, refresh=refresh)
    except SKIPPED:
        pass
    return card


# --- Thumbnails -----------------------------------------------------------------------------------------

class NoThumbnail(Exception):
    """This experiment has nothing to draw (no image channel, no served level, or too large a section)."""


def thumbnail_key(user, collection, experiment):
    who = f"user:{user.pk}" if user.is_authenticated else "public"
    raw = json.dumps([who, collection, experiment])
    return "catalogue-thumb:" + hashlib.sha256(raw.encode()).hexdigest()


def thumbnail(user, collection, experiment):
    """PNG bytes of the experiment's thumbnail as `user` sees it, from the cache or ONE BOSS cutout."""
    key = thumbnail_key(user, collection, experiment)
    png = cache.get(key)
    if png is None:
        png = render_thumbnail(user, collection, experiment)
        cache.set(key, png, THUMB_CACHE_SECONDS)
    return png


def thumbnail_source(detail):
    """(channel, level, z) the thumbnail reads: the first image channel, its coarsest served level, the
    middle section of what BOSS serves there."""
    channel = next((ch for ch in detail.channels if ch.type != "annotation"), None)
    usable = detail.usable([channel.name]) if channel is not None else []
    if not usable:
        raise NoThumbnail("no image channel BOSS serves")
    level = detail.level(usable[-1])
    (x0, x1), (y0, y1), (z0, z1) = level.bounds
    if max(x1 - x0, y1 - y0) > THUMB_MAX_SECTION:
        raise NoThumbnail("the coarsest section is too large for a thumbnail")
    return channel, level, (z0 + z1) // 2


def render_thumbnail(user, collection, experiment):
    who = client.caller(user)
    detail = client.get_experiment_detail(who, collection, experiment)
    if not detail.levels:
        raise NoThumbnail("BOSS lists no resolution levels")
    channel, level, z = thumbnail_source(detail)
    x, y, _ = level.bounds
    data = bossdb.read_cutout(who.session, collection, experiment, channel.name, channel.datatype,
                              level.resolution, x, y, (z, z + 1))
    return png_of(data[0])


def png_of(section):
    """A contrast-stretched (1st to 99th percentile) greyscale PNG, at most THUMB_PIXELS on a side."""
    values = section.astype(np.float64)
    lo, hi = np.percentile(values, [1, 99])
    if hi <= lo:
        hi = lo + 1
    image = Image.fromarray((np.clip((values - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8), "L")
    image.thumbnail((THUMB_PIXELS, THUMB_PIXELS), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
