"""Typed read access to BOSS for a portal user: collections, experiments, coordinate frames, channels,
levels, display windows. A thin adapter over bossdb: user -> credential -> bossdb call, cached per user.

Results are cached per user for BOSS_CACHE_SECONDS; pass refresh=True to go to BOSS regardless. Errors
are bossdb.errors only.
"""
import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import wraps

import numpy as np
from django.conf import settings
from django.core.cache import cache

import bossdb
from bossdb import errors
from bossdb.geometry import level_starts
from bossdb.resources import Channel, Collection, CoordFrame, Experiment, Level  # noqa: F401 (re-exported)
from portal.boss.credentials import credential_for  # noqa: F401 (tests build credentials through it)
from portal.boss.session import boss_session

# Parallel detail fetches (collection page: one experiment + frame per row). I/O bound, small.
FETCH_THREADS = 8


@dataclass
class ExperimentRow:
    """A line of the collection page: an experiment and its frame (frame None if it couldn't be read)."""
    experiment: Experiment
    frame: CoordFrame = None


@dataclass
class ExperimentDetail:
    """Everything the experiment page shows."""
    experiment: Experiment
    frame: CoordFrame
    channels: list
    levels: list = None  # None when BOSS can't give them (see levels_error)
    levels_error: str = ""


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
            self._session = boss_session(credential_for(self.user))
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


def display_windows(user, detail, channels=None, refresh=False):
    """{channel name: (low, high)} for the image channels of `detail` (an ExperimentDetail) whose datatype
    needs one, each from a sample at the centre of the coarsest level."""
    who = caller(user)
    wanted = [ch for ch in (channels if channels is not None else detail.channels)
              if ch.type != "annotation" and ch.datatype in WINDOWED_DATATYPES]
    if not wanted or not detail.levels:
        return {}
    level = detail.levels[-1]
    box = []
    for start, stop, size in zip(level.start, level.extent, WINDOW_SAMPLE):
        lo = max(start, (start + stop) // 2 - size // 2)
        box.append((lo, min(stop, lo + size)))
    found = _in_threads(who, lambda ch: display_window(who, detail.experiment.collection, detail.experiment.name,
                                                       ch.name, ch.datatype, level.resolution, tuple(box),
                                                       refresh=refresh), wanted)
    return {ch.name: tuple(w) for ch, w in zip(wanted, found) if w}


# --- What each page shows -------------------------------------------------------------------------------

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


def with_starts(levels, frame):
    """The levels placed on the frame: BOSS gives each level's stops only; starts are the frame's, scaled."""
    return [replace(level, start=level_starts(frame.starts, level.voxel_size, frame.voxel_size)) for level in levels]


def get_experiment_detail(user, collection, experiment, refresh=False):
    who = caller(user)
    exp = get_experiment(who, collection, experiment, refresh=refresh)
    frame = get_coord_frame(who, exp.coord_frame, refresh=refresh)
    channels = get_channels(who, collection, experiment, refresh=refresh)
    detail = ExperimentDetail(exp, frame, channels)
    if channels:
        # Levels follow from the frame and hierarchy method, not the channel: the first one's suffice.
        try:
            detail.levels = with_starts(get_levels(who, collection, experiment, channels[0].name, refresh=refresh),
                                        frame)
        except (errors.BossBadRequest, errors.BossForbidden, errors.BossNotFound) as exc:
            detail.levels_error = exc.message
    return detail


def ping(timeout=3.0):
    """BOSS answers at all (no login, no cache): for /healthz. Raises BossUnavailable otherwise."""
    bossdb.ping(bossdb.Session(settings.BOSS_URL, bossdb.Credential("Token", ""), connect_timeout=timeout,
                               read_timeout=timeout))
