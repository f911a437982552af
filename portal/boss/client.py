"""Typed read access to BOSS's resources: collections, experiments, coordinate frames, channels, levels.

One plain function per endpoint, each returning dataclasses and raising only portal.boss.errors. Calls go
through intern (remote_for) except the downsample endpoint, which intern lacks (a requests session).
Results are cached per user for BOSS_CACHE_SECONDS; pass refresh=True to go to BOSS regardless.

Reference: /work/shared/boss-api.md sections 3, 4 and 6 (https://docs.theboss.io/docs/).
"""
import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import wraps
from urllib.parse import quote

import numpy as np
import requests
from django.conf import settings
from django.core.cache import cache
from intern.resource.boss.resource import CollectionResource

from portal.boss import errors
from portal.boss.credentials import credential_for
from portal.boss.remote import CredentialAuth, remote_for_credential
from portal.boss.volume import read_block

# Parallel detail fetches (collection page: one experiment + frame per row). I/O bound, small.
FETCH_THREADS = 8


UNIT_SYMBOLS = {"nanometers": "nm", "micrometers": "µm", "millimeters": "mm", "centimeters": "cm"}


# --- Typed results -----------------------------------------------------------------------------------

@dataclass
class Collection:
    name: str
    description: str = ""
    public: bool = False
    creator: str = ""
    experiments: list = field(default_factory=list)


@dataclass
class CoordFrame:
    name: str
    description: str
    x_start: int
    x_stop: int
    y_start: int
    y_stop: int
    z_start: int
    z_stop: int
    x_voxel_size: float
    y_voxel_size: float
    z_voxel_size: float
    voxel_unit: str

    @property
    def unit_symbol(self):
        return UNIT_SYMBOLS.get(self.voxel_unit, self.voxel_unit)

    @property
    def extent(self):
        """(x, y, z) size in voxels."""
        return (self.x_stop - self.x_start, self.y_stop - self.y_start, self.z_stop - self.z_start)

    @property
    def voxel_size(self):
        return (self.x_voxel_size, self.y_voxel_size, self.z_voxel_size)

    @property
    def physical_extent(self):
        """(x, y, z) size in voxel_unit."""
        return tuple(n * s for n, s in zip(self.extent, self.voxel_size))


@dataclass
class Experiment:
    name: str
    collection: str
    coord_frame: str
    description: str = ""
    num_hierarchy_levels: int = 1
    hierarchy_method: str = "anisotropic"
    num_time_samples: int = 1
    time_step: object = None
    time_step_unit: str = ""
    public: bool = False
    creator: str = ""
    channels: list = field(default_factory=list)


@dataclass
class Channel:
    name: str
    experiment: str
    type: str
    datatype: str
    description: str = ""
    base_resolution: int = 0
    default_time_sample: int = 0
    downsample_status: str = ""
    public: bool = False
    creator: str = ""
    sources: list = field(default_factory=list)
    related: list = field(default_factory=list)


@dataclass
class Level:
    resolution: int
    voxel_size: tuple  # (x, y, z) in the frame's voxel_unit
    extent: tuple  # (x, y, z) as BOSS reports it: the stop coordinates at this level (section 6.1)
    cuboid_size: tuple = ()
    start: tuple = (0, 0, 0)  # (x, y, z) first voxel at this level (the frame's start, scaled)

    @property
    def size(self):
        """(x, y, z) number of voxels at this level."""
        return tuple(stop - start for start, stop in zip(self.start, self.extent))


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


def _pick(cls, raw, **extra):
    names = cls.__dataclass_fields__
    return cls(**{k: v for k, v in {**raw, **extra}.items() if k in names})


# --- Errors and caching -------------------------------------------------------------------------------

def map_error(exc, what):
    """A requests/intern exception -> the portal's BossError. `what` names the resource for the user."""
    if isinstance(exc, errors.BossError):
        return exc
    if isinstance(exc, requests.Timeout):
        return errors.BossTimeout(f"BOSS did not answer in time while reading {what}.")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            return errors.BossForbidden(f"You don't have access to {what}.", status)
        if status == 404:
            return errors.BossNotFound(f"{what[:1].upper()}{what[1:]} does not exist.", status)
        if status in (400, 409, 413):
            return errors.BossBadRequest(f"BOSS refused the request for {what}.", status)
        return errors.BossUnavailable(f"BOSS answered {status} while reading {what}.", status)
    if isinstance(exc, (requests.RequestException, ValueError, KeyError, TypeError, AttributeError, RuntimeError)):
        # Connection refused, or an answer intern (or we) could not parse.
        return errors.BossUnavailable(f"BOSS is unreachable or sent something unreadable while reading {what}.")
    return exc


class _Caller:
    """A user with their credential looked up at most once, in the request's thread.

    Worker threads only use the credential (credential_for may touch the database and must not run there).
    """

    def __init__(self, user):
        self.user = user
        self._credential = None

    @property
    def credential(self):
        if self._credential is None:
            self._credential = credential_for(self.user)
        return self._credential


def _caller(user):
    return user if isinstance(user, _Caller) else _Caller(user)


def _who(caller):
    """A cache-key part naming the caller without any secret: a hash of the user id and credential kind."""
    user = caller.user
    if user is None or not user.is_authenticated:
        ident = "anonymous|public"
    else:
        ident = f"user:{user.pk}|oidc"
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def _cached(kind):
    """Cache a client function's result per user and arguments; `refresh=True` skips the lookup."""

    def decorate(fn):
        @wraps(fn)
        def wrapper(user, *args, refresh=False, **kwargs):
            user = _caller(user)
            key = "boss:" + hashlib.sha256(
                json.dumps([_who(user), kind, args, sorted(kwargs.items())], default=str).encode()
            ).hexdigest()
            if not refresh:
                hit = cache.get(key)
                if hit is not None:
                    return hit
            value = fn(user, *args, refresh=refresh, **kwargs)
            cache.set(key, value, settings.BOSS_CACHE_SECONDS)
            return value

        return wrapper

    return decorate


def _remote(caller):
    return remote_for_credential(caller.credential)


def _in_threads(caller, fn, items):
    """map(fn, items) on a small thread pool, the credential resolved first in this thread."""
    caller.credential
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        return list(pool.map(fn, items))


def _call(what, fn, *args):
    try:
        return fn(*args)
    except errors.BossError:
        raise
    except Exception as exc:
        mapped = map_error(exc, what)
        if mapped is exc:
            raise
        raise mapped from exc


# --- One function per endpoint ------------------------------------------------------------------------

@_cached("collections")
def list_collections(user, refresh=False):
    """Names of every collection `user` can read (public ones for anonymous), sorted. GET /v1/collection/"""
    return sorted(_call("the collection list", lambda: _remote(user).list_collections()))


@_cached("collection")
def get_collection(user, name, refresh=False):
    """GET /v1/collection/{c}"""
    return _call(f"collection {name}",
                 lambda: _pick(Collection, _remote(user).get_project(CollectionResource(name)).raw))


def get_collections(user, names, refresh=False):
    """Several collections at once (one page of the list). Unreadable ones come back name-only."""

    user = _caller(user)

    def one(name):
        try:
            return get_collection(user, name, refresh=refresh)
        except (errors.BossForbidden, errors.BossNotFound):
            return Collection(name=name)

    return _in_threads(user, one, names)


@_cached("experiments")
def list_experiments(user, collection, refresh=False):
    """GET /v1/collection/{c}/experiment/"""
    return sorted(_call(f"collection {collection}", lambda: _remote(user).list_experiments(collection)))


@_cached("experiment")
def get_experiment(user, collection, name, refresh=False):
    """GET /v1/collection/{c}/experiment/{e}"""
    return _call(f"experiment {collection}/{name}",
                 lambda: _pick(Experiment, _remote(user).get_experiment(collection, name).raw, collection=collection))


@_cached("coord")
def get_coord_frame(user, name, refresh=False):
    """GET /v1/coord/{cf}"""
    return _call(f"coordinate frame {name}", lambda: _pick(CoordFrame, _remote(user).get_coordinate_frame(name).raw))


@_cached("channels")
def list_channels(user, collection, experiment, refresh=False):
    """GET /v1/collection/{c}/experiment/{e}/channel/"""
    return sorted(_call(f"experiment {collection}/{experiment}",
                        lambda: _remote(user).list_channels(collection, experiment)))


@_cached("channel")
def get_channel(user, collection, experiment, name, refresh=False):
    """GET /v1/collection/{c}/experiment/{e}/channel/{ch}"""
    return _call(f"channel {collection}/{experiment}/{name}",
                 lambda: _pick(Channel, _remote(user).get_channel(name, collection, experiment).raw, experiment=experiment))


def get_channels(user, collection, experiment, names=None, refresh=False):
    """The channels of an experiment (all readable ones unless `names`), in the order of `names`."""
    user = _caller(user)
    if names is None:
        names = list_channels(user, collection, experiment, refresh=refresh)
    return _in_threads(user, lambda n: get_channel(user, collection, experiment, n, refresh=refresh), names)


@_cached("levels")
def get_levels(user, collection, experiment, channel, refresh=False):
    """Voxel size and extent per resolution level. GET /v1/downsample/{c}/{e}/{ch} (section 6.1)."""
    what = f"the resolution levels of {collection}/{experiment}/{channel}"
    url = f"{settings.BOSS_URL}/v1/downsample/" + "/".join(quote(p, safe="") for p in (collection, experiment, channel))

    def fetch():
        with requests.Session() as session:
            session.auth = CredentialAuth(user.credential)
            response = session.get(url, timeout=(settings.BOSS_CONNECT_TIMEOUT, settings.BOSS_READ_TIMEOUT))
            response.raise_for_status()
            body = response.json()
        cuboids = body.get("cuboid_size", {})
        return [
            Level(resolution=int(r), voxel_size=tuple(body["voxel_size"][r]), extent=tuple(body["extent"][r]),
                  cuboid_size=tuple(cuboids.get(r, ())))
            for r in sorted(body["voxel_size"], key=int)
        ]

    return _call(what, fetch)


# Image datatypes whose full range makes a poor display window (uint8's 0-255 is fine as it is).
WINDOWED_DATATYPES = ("uint16", "uint32")
WINDOW_SAMPLE = (256, 256, 16)  # x, y, z voxels at the coarsest level: one cuboid's worth at most
WINDOW_PERCENTILES = (0.5, 99.5)


@_cached("window")
def display_window(user, collection, experiment, channel, datatype, level, box, refresh=False):
    """(low, high) display range of an image channel: the 0.5th and 99.5th percentiles of one sample,
    `box` ((x0, x1), (y0, y1), (z0, z1)) at `level`. () when the sample can't be read or is flat: the
    viewer then keeps its default (the datatype's full range). One BOSS cutout, cached like the rest."""
    user = _caller(user)
    try:
        data = read_block(_remote(user), collection, experiment, channel, datatype, level, *box)
    except errors.BossError:
        return ()
    low, high = (float(v) for v in np.percentile(data, WINDOW_PERCENTILES))
    if high <= low:
        return ()
    return (int(math.floor(low)), int(math.ceil(high)))


def display_windows(user, detail, channels=None, refresh=False):
    """{channel name: (low, high)} for the image channels of `detail` (an ExperimentDetail) whose datatype
    needs one, each from a sample at the centre of the coarsest level."""
    user = _caller(user)
    wanted = [ch for ch in (channels if channels is not None else detail.channels)
              if ch.type != "annotation" and ch.datatype in WINDOWED_DATATYPES]
    if not wanted or not detail.levels:
        return {}
    level = detail.levels[-1]
    box = []
    for start, stop, size in zip(level.start, level.extent, WINDOW_SAMPLE):
        lo = max(start, (start + stop) // 2 - size // 2)
        box.append((lo, min(stop, lo + size)))
    found = _in_threads(user, lambda ch: display_window(user, detail.experiment.collection, detail.experiment.name,
                                                        ch.name, ch.datatype, level.resolution, tuple(box),
                                                        refresh=refresh), wanted)
    return {ch.name: tuple(w) for ch, w in zip(wanted, found) if w}


# --- What each page shows -------------------------------------------------------------------------------

def get_collection_rows(user, collection, refresh=False):
    """The collection and, per experiment, the experiment and its coordinate frame."""
    user = _caller(user)
    coll = get_collection(user, collection, refresh=refresh)
    names = list_experiments(user, collection, refresh=refresh)

    def row(name):
        exp = get_experiment(user, collection, name, refresh=refresh)
        try:
            frame = get_coord_frame(user, exp.coord_frame, refresh=refresh)
        except (errors.BossNotFound, errors.BossForbidden):
            frame = None
        return ExperimentRow(exp, frame)

    return coll, _in_threads(user, row, names)


def _with_starts(levels, frame):
    """BOSS gives each level's stops only; its starts are the frame's, divided by the level's scale."""
    starts = (frame.x_start, frame.y_start, frame.z_start)
    base = frame.voxel_size
    return [
        replace(level, start=tuple(math.floor(s * b / v) for s, b, v in zip(starts, base, level.voxel_size)))
        for level in levels
    ]


def get_experiment_detail(user, collection, experiment, refresh=False):
    user = _caller(user)
    exp = get_experiment(user, collection, experiment, refresh=refresh)
    frame = get_coord_frame(user, exp.coord_frame, refresh=refresh)
    channels = get_channels(user, collection, experiment, refresh=refresh)
    detail = ExperimentDetail(exp, frame, channels)
    if channels:
        # Levels follow from the frame and hierarchy method, not the channel: the first one's suffice.
        try:
            detail.levels = _with_starts(get_levels(user, collection, experiment, channels[0].name, refresh=refresh),
                                         frame)
        except (errors.BossBadRequest, errors.BossForbidden, errors.BossNotFound) as exc:
            detail.levels_error = exc.message
    return detail


def ping(timeout=3.0):
    """BOSS answers at all (no login, no cache): for /healthz. Raises BossUnavailable otherwise.

    Reference: GET /ping/ (https://docs.theboss.io/docs/)
    """
    try:
        response = requests.get(f"{settings.BOSS_URL}/ping/", timeout=timeout)
    except requests.RequestException as exc:
        raise errors.BossUnavailable(f"BOSS did not answer ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise errors.BossUnavailable(f"BOSS answered {response.status_code}")
