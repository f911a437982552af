"""Typed read access to BOSS for a portal user: collections, experiments, coordinate frames, channels,
levels, display windows. A thin adapter over bossdb: user -> credential -> bossdb call, cached per user.

Results are cached per user for BOSS_CACHE_SECONDS; pass refresh=True to go to BOSS regardless. Errors
are bossdb.errors only.
"""
import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import wraps

import numpy as np
from django.conf import settings
from django.core.cache import cache

import bossdb
from bossdb import errors
from bossdb.levels import channel_levels, level_table
from bossdb.resources import Channel, Collection, CoordFrame, Experiment, Level  # noqa: F401 (re-exported)
from portal.boss.credentials import credential_for  # noqa: F401 (tests build credentials through it)
from portal.boss.session import session_for

# Parallel detail fetches (collection page: one experiment + frame per row). I/O bound, small.
FETCH_THREADS = 8


@dataclass
class ExperimentRow:
    """A line of the collection page: an experiment and its frame (frame None if it couldn't be read)."""
    experiment: Experiment
    frame: CoordFrame = None


@dataclass
class ExperimentDetail:
    """Everything the experiment page shows.

    `levels` is the frame's level table for the channels' levels (from the lowest base resolution up), each
    with what BOSS serves there (`Level.bounds`); `channel_levels` says per channel which of them BOSS
    serves data for (bossdb.levels: base resolution, downsample status, the level-0 bounds check)."""
    experiment: Experiment
    frame: CoordFrame
    channels: list
    levels: list = None  # None when BOSS can't give them (see levels_error)
    levels_error: str = ""
    channel_levels: dict = field(default_factory=dict)  # channel name -> bossdb.levels.ChannelLevels

    def level(self, resolution):
        return next((lv for lv in self.levels or () if lv.resolution == resolution), None)

    def usable(self, names=None):
        """Resolutions BOSS serves for every channel named (all channels by default), ascending."""
        names = [c.name for c in self.channels] if names is None else list(names)
        sets = [set(self.channel_levels[n].usable) for n in names if n in self.channel_levels]
        return sorted(set.intersection(*sets)) if sets else []

    @property
    def partly_served(self):
        """Resolutions whose data BOSS serves only in part (or not at all): the viewer shows gaps there."""
        return [lv.resolution for lv in self.levels or ()
                if lv.bounds != tuple(zip(lv.start, lv.extent))]

    def why_not(self, resolution, names=None):
        """Why BOSS can't serve `resolution` for the channels named: the first reason found, or ""."""
        names = [c.name for c in self.channels] if names is None else list(names)
        for name in names:
            levels = self.channel_levels.get(name)
            if levels is None:
                continue
            if levels.level(resolution) is None:
                usable = levels.usable
                return (f"{name} has levels {levels.levels[0].resolution} to {levels.levels[-1].resolution}"
                        + (f" (BOSS serves {', '.join(map(str, usable))})" if usable else ""))
            if resolution in levels.notes:
                return levels.notes[resolution]
        return ""


class Caller:
    """A user, with their bossdb session made at most once, in the request's thread.

    Worker threads only use the session (credential_for may touch the database and must not run there).
    """

    def __init__(self, user):
        self.user = user
        self._session = None

    @property
    def session(self):
        if self._session is None:
            self._session = session_for(self.user)
        return self._session


def caller(user):
    return user if isinstance(user, Caller) else Caller(user)


def _who(who):
    """A cache-key part naming the caller without any secret: a hash of the user id and credential kind."""
    user = who.user
    ident = "anonymous|public" if user is None or not user.is_authenticated else f"user:{user.pk}|oidc"
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def _cached(kind):
    """Cache a client function's result per user and arguments; `refresh=True` skips the lookup."""

    def decorate(fn):
        @wraps(fn)
        def wrapper(user, *args, refresh=False, **kwargs):
            who = caller(user)
            key = "boss:" + hashlib.sha256(
                json.dumps([_who(who), kind, args, sorted(kwargs.items())], default=str).encode()
            ).hexdigest()
            if not refresh:
                hit = cache.get(key)
                if hit is not None:
                    return hit
            value = fn(who, *args, refresh=refresh, **kwargs)
            cache.set(key, value, settings.BOSS_CACHE_SECONDS)
            return value

        return wrapper

    return decorate


def _in_threads(who, fn, items):
    """map(fn, items) on a small thread pool, the session made first in this thread."""
    who.session
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        return list(pool.map(fn, items))


# --- One function per endpoint ------------------------------------------------------------------------

@_cached("collections")
def list_collections(user, refresh=False):
    """Names of every collection `user` can read (public ones for anonymous), sorted."""
    return bossdb.list_collections(user.session)


@_cached("collection")
def get_collection(user, name, refresh=False):
    return bossdb.get_collection(user.session, name)


def get_collections(user, names, refresh=False):
    """Several collections at once (one page of the list). Unreadable ones come back name-only."""
    who = caller(user)

    def one(name):
        try:
            return get_collection(who, name, refresh=refresh)
        except (errors.BossForbidden, errors.BossNotFound):
            return Collection(name=name)

    return _in_threads(who, one, names)


@_cached("experiments")
def list_experiments(user, collection, refresh=False):
    return bossdb.list_experiments(user.session, collection)


@_cached("experiment")
def get_experiment(user, collection, name, refresh=False):
    return bossdb.get_experiment(user.session, collection, name)


@_cached("coord")
def get_coord_frame(user, name, refresh=False):
    return bossdb.get_coord_frame(user.session, name)


@_cached("channels")
def list_channels(user, collection, experiment, refresh=False):
    return bossdb.list_channels(user.session, collection, experiment)


@_cached("channel")
def get_channel(user, collection, experiment, name, refresh=False):
    return bossdb.get_channel(user.session, collection, experiment, name)


def get_channels(user, collection, experiment, names=None, refresh=False):
    """The channels of an experiment (all readable ones unless `names`), in the order of `names`."""
    who = caller(user)
    if names is None:
        names = list_channels(who, collection, experiment, refresh=refresh)
    return _in_threads(who, lambda n: get_channel(who, collection, experiment, n, refresh=refresh), names)


@_cached("levels")
def get_levels(user, collection, experiment, channel, refresh=False):
    """Voxel size and extent per resolution level (GET /v1/downsample, section 6.1)."""
    return bossdb.get_levels(user.session, collection, experiment, channel)


# Image datatypes whose full range makes a poor display window (uint8's 0-255 is fine as it is).
WINDOWED_DATATYPES = ("uint16", "uint32")
WINDOW_SAMPLE = (256, 256, 16)  # x, y, z voxels at the coarsest level: one cuboid's worth at most
WINDOW_PERCENTILES = (0.5, 99.5)


@_cached("window")
def display_window(user, collection, experiment, channel, datatype, level, box, refresh=False):
    """(low, high) display range of an image channel: the 0.5th and 99.5th percentiles of one sample,
    `box` ((x0, x1), (y0, y1), (z0, z1)) at `level`. () when the sample can't be read or is flat: the
    viewer then keeps its default (the datatype's full range). One BOSS cutout, cached like the rest."""
    try:
        data = bossdb.read_cutout(user.session, collection, experiment, channel, datatype, level, *box)
    except errors.BossError:
        return ()
    low, high = (float(v) for v in np.percentile(data, WINDOW_PERCENTILES))
    if high <= low:
        return ()
    return (int(math.floor(low)), int(math.ceil(high)))


def _window_box(level):
    """A WINDOW_SAMPLE box at the centre of what BOSS serves at `level`."""
    box = []
    for (start, stop), size in zip(level.bounds, WINDOW_SAMPLE):
        lo = max(start, (start + stop) // 2 - size // 2)
        box.append((lo, min(stop, lo + size)))
    return tuple(box)


def display_windows(user, detail, channels=None, refresh=False):
    """{channel name: (low, high)} for the image channels of `detail` (an ExperimentDetail) whose datatype
    needs one, each from a sample at the centre of the coarsest level BOSS serves for that channel."""
    who = caller(user)
    wanted = [ch for ch in (channels if channels is not None else detail.channels)
              if ch.type != "annotation" and ch.datatype in WINDOWED_DATATYPES and detail.usable([ch.name])]
    if not wanted or not detail.levels:
        return {}

    def window(ch):
        level = detail.level(detail.usable([ch.name])[-1])
        return display_window(who, detail.experiment.collection, detail.experiment.name, ch.name, ch.datatype,
                              level.resolution, _window_box(level), refresh=refresh)

    found = _in_threads(who, window, wanted)
    return {ch.name: tuple(w) for ch, w in zip(wanted, found) if w}


# --- What each page shows -------------------------------------------------------------------------------

# A page's whole answer is cached too: a page view that hits the cache then costs one cache read, not one
# per BOSS object (and no thread pool), which keeps the pages near a trivial view's throughput
# (bench/pages_bench.py). Its parts keep their own entries, so a page's first view reuses them.
@_cached("collection-rows")
def get_collection_rows(user, collection, refresh=False):
    """The collection and, per experiment, the experiment and its coordinate frame."""
    who = caller(user)
    coll = get_collection(who, collection, refresh=refresh)
    names = list_experiments(who, collection, refresh=refresh)

    def row(name):
        exp = get_experiment(who, collection, name, refresh=refresh)
        try:
            frame = get_coord_frame(who, exp.coord_frame, refresh=refresh)
        except (errors.BossNotFound, errors.BossForbidden):
            frame = None
        return ExperimentRow(exp, frame)

    return coll, _in_threads(who, row, names)


def detail_of(experiment, frame, channels, reported=None):
    """The ExperimentDetail of what BOSS said: its levels (`reported`: the downsample route's table, None
    where BOSS refused it) and which of them BOSS serves for each channel. Pure: no BOSS call."""
    detail = ExperimentDetail(experiment, frame, channels)
    if channels:
        detail.channel_levels = {ch.name: channel_levels(frame, experiment, ch, reported) for ch in channels}
        low = min(int(ch.base_resolution or 0) for ch in channels)
        high = max(int(ch.base_resolution or 0) for ch in channels) + int(experiment.num_hierarchy_levels or 1)
        detail.levels = level_table(frame, experiment, high, reported)[low:]
    return detail


def _channels_and_levels(who, collection, experiment, refresh):
    """(channels, the downsample route's level table or None, why BOSS refused it or None)."""
    channels = get_channels(who, collection, experiment, refresh=refresh)
    if not channels:
        return channels, None, None
    # The level table follows from the frame and hierarchy method, not the channel: the first one's
    # suffice. BOSS refuses it for frames it can't downsample (x voxel != y voxel: 400); then the
    # portal computes it by BOSS's own rule, since the base level is served all the same.
    try:
        return channels, get_levels(who, collection, experiment, channels[0].name, refresh=refresh), None
    except errors.BossBadRequest:
        return channels, None, None
    except (errors.BossForbidden, errors.BossNotFound) as exc:
        return channels, None, exc.message


@_cached("experiment-detail")
def get_experiment_detail(user, collection, experiment, refresh=False):
    """The experiment, its frame, its channels and its levels. The channels and levels are asked for while
    the experiment and then its frame are: three round trips to BOSS instead of five (a form's validation
    and an experiment page's first view wait for them). BOSS's errors keep their order: the experiment's,
    the frame's, then the channels'."""
    who = caller(user)
    who.session  # made in this thread, shared by the other
    with ThreadPoolExecutor(1) as pool:
        rest = pool.submit(_channels_and_levels, who, collection, experiment, refresh)
        exp = get_experiment(who, collection, experiment, refresh=refresh)
        frame = get_coord_frame(who, exp.coord_frame, refresh=refresh)
        channels, reported, levels_error = rest.result()
    if levels_error is not None:
        return ExperimentDetail(exp, frame, channels, levels_error=levels_error)
    return detail_of(exp, frame, channels, reported)


def ping(timeout=3.0):
    """BOSS answers at all (no login, no cache): for /healthz. Raises BossUnavailable otherwise."""
    bossdb.ping(bossdb.Session(settings.BOSS_URL, bossdb.Credential("Token", ""), connect_timeout=timeout,
                               read_timeout=timeout))
