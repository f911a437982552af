"""One function per BOSS endpoint, each taking a bossdb.Session and returning typed results.

Reference: boss-api.md (the BOSS REST API v1 subset intern and Neuroglancer use), https://docs.theboss.io/docs/.
Errors are bossdb.errors only; metadata errors name the resource for the user ("collection demo").
"""
import struct

import numpy as np
import requests

from bossdb import resources
from bossdb.errors import BossBadRequest, BossUnavailable
from bossdb.resources import BoundingBox, Channel, Collection, CoordFrame, Experiment
from bossdb.session import path

CUTOUT_TYPES = ("uint8", "uint16", "uint64")  # what BOSS's cutout service (spdb) and intern handle
BOUNDING_BOX_KINDS = ("tight", "loose")


def _experiment_route(collection, experiment, *rest):
    return path("collection", collection, "experiment", experiment, *rest)


def list_collections(session):
    """Names of the collections the caller can read, sorted. GET /v1/collection/"""
    return session.get("collection/", what="the collection list",
                       decode=lambda r: resources.names(r.json(), "collections"))


def get_collection(session, name):
    """GET /v1/collection/{c}"""
    return session.get(path("collection", name), what=f"collection {name}",
                       decode=lambda r: resources.pick(Collection, r.json()))


def list_experiments(session, collection):
    """GET /v1/collection/{c}/experiment/"""
    return session.get(path("collection", collection, "experiment") + "/", what=f"collection {collection}",
                       decode=lambda r: resources.names(r.json(), "experiments"))


def get_experiment(session, collection, name):
    """GET /v1/collection/{c}/experiment/{e}. A null time_step_unit (the real BOSS allows it) reads as ""."""
    def decode(response):
        experiment = resources.pick(Experiment, response.json(), collection=collection)
        experiment.time_step_unit = experiment.time_step_unit or ""
        experiment.hierarchy_method = experiment.hierarchy_method or "anisotropic"
        experiment.num_time_samples = int(experiment.num_time_samples or 1)
        experiment.num_hierarchy_levels = int(experiment.num_hierarchy_levels or 1)
        return experiment

    return session.get(_experiment_route(collection, name), what=f"experiment {collection}/{name}", decode=decode)


def get_coord_frame(session, name):
    """GET /v1/coord/{cf}"""
    return session.get(path("coord", name), what=f"coordinate frame {name}",
                       decode=lambda r: resources.pick(CoordFrame, r.json()))


def list_channels(session, collection, experiment):
    """GET /v1/collection/{c}/experiment/{e}/channel/"""
    return session.get(_experiment_route(collection, experiment, "channel") + "/",
                       what=f"experiment {collection}/{experiment}",
                       decode=lambda r: resources.names(r.json(), "channels"))


def get_channel(session, collection, experiment, name):
    """GET /v1/collection/{c}/experiment/{e}/channel/{ch}"""
    return session.get(_experiment_route(collection, experiment, "channel", name),
                       what=f"channel {collection}/{experiment}/{name}",
                       decode=lambda r: resources.pick(Channel, r.json(), experiment=experiment))


def get_levels(session, collection, experiment, channel):
    """Voxel size and extent (the stops) per level, starting at 0. GET /v1/downsample/{c}/{e}/{ch} (6.1)."""
    return session.get(path("downsample", collection, experiment, channel),
                       what=f"the resolution levels of {collection}/{experiment}/{channel}",
                       decode=lambda r: resources.levels(r.json()))


def cutout_route(collection, experiment, channel, resolution, x, y, z, t=None):
    ranges = [f"{x[0]}:{x[1]}", f"{y[0]}:{y[1]}", f"{z[0]}:{z[1]}"] + ([f"{t[0]}:{t[1]}"] if t else [])
    return path("cutout", collection, experiment, channel, resolution, *ranges) + "/"


def read_cutout(session, collection, experiment, channel, datatype, resolution, x, y, z, t=None, into=None,
                room=None):
    """A (Z, Y, X) array, or (T, Z, Y, X) when `t` is given, of the half-open box, in ONE request.

    GET /v1/cutout/{c}/{e}/{ch}/{r}/{x0}:{x1}/{y0}:{y1}/{z0}:{z1}/[{t0}:{t1}/] with Accept: application/blosc
    (5.1, 5.2). The box must be small enough for one request (BOSS refuses over 500 MB: 413); the cutout
    planner makes it so. A body that doesn't decode to exactly that box is an unreadable answer (retried).

    `into(shape, dtype)`, called once the body is in, gives a C-contiguous array to decode into (and return):
    blosc decodes straight into it, so a caller reading many blocks reuses a few buffers instead of touching
    fresh memory for every block (a fresh 32 MB array costs ~0.2 CPU s per GB in page faults and unmapping).
    `room` (bossdb.BodyRoom) bounds the bytes of the bodies the caller's threads hold at once.
    """
    if str(datatype) not in CUTOUT_TYPES:
        raise BossBadRequest(f"BOSS can't cut out {datatype} channels")
    expected = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
    if t:
        expected = (t[1] - t[0], *expected)
    dtype = np.dtype(datatype)

    def decode(response):
        body = response.content
        out = into(expected, dtype) if into is not None else np.empty(expected, dtype)
        return _decode_into(body, out, expected, dtype)

    return session.get(cutout_route(collection, experiment, channel, resolution, x, y, z, t),
                       params={"access-mode": "no-cache"}, accept="application/blosc", decode=decode,
                       what="the cutout", describe=False, room=room)


def _decode_into(body, out, expected, dtype):
    """Decode a blosc body (bytes, or a memoryview of a buffer the body was read into) into `out` after
    checking its header against `out`: blosc itself trusts the header, so a body whose sizes don't match is
    refused before a byte is written. numcodecs' blosc (the same C-Blosc 1.x) decodes from any buffer and
    without the GIL; python-blosc takes bytes objects only. Imported here, with the first answer, not with
    this module: numcodecs takes ~0.1 s to import (its codec registry reads every installed package's entry
    points), which `boss-cutout --dry-run` and the portal's web processes never need."""
    from numcodecs.blosc import decompress

    if out.shape != expected or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise TypeError(f"out must be a C-contiguous {dtype} array of shape {expected}, got {out.dtype} {out.shape}")
    # Blosc 1.x's header: version, versionlz, flags, typesize, then nbytes, blocksize, cbytes (little-endian).
    nbytes, _, cbytes = struct.unpack_from("<III", body, 4) if len(body) >= 16 else (0, 0, 0)
    if nbytes != out.nbytes or cbytes != len(body):
        raise ValueError(f"a blosc body of {nbytes} bytes in {len(body)}, expected {out.nbytes}")
    try:
        decompress(body, out)
    except Exception as exc:  # blosc raises its own error types on a damaged body
        raise ValueError(f"not a blosc array ({type(exc).__name__})") from exc
    return out


def ids_in_box(session, collection, experiment, channel, resolution, x, y, z):
    """Sorted object ids (ints, without 0) in the half-open box at `resolution`, from BOSS's index (8).

    GET /v1/ids/{c}/{e}/{ch}/{r}/{x0}:{x1}/{y0}:{y1}/{z0}:{z1}/0:1/ -> {"ids": ["1", "4"]}
    """
    route = path("ids", collection, experiment, channel, resolution,
                 f"{x[0]}:{x[1]}", f"{y[0]}:{y[1]}", f"{z[0]}:{z[1]}", "0:1") + "/"

    def decode(response):
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
            raise ValueError("no list of ids")
        try:
            return sorted(int(i) for i in body["ids"])
        except TypeError as exc:
            raise ValueError("ids that are not numbers") from exc

    return session.get(route, decode=decode, what="the object ids", describe=False)


def bounding_box(session, collection, experiment, channel, resolution, obj_id, kind="tight"):
    """The BoundingBox of an object at `resolution`: "tight" (exact) or "loose" (cuboid-aligned).

    GET /v1/boundingbox/{c}/{e}/{ch}/{r}/{id}/?type=tight -> {"x_range": [..], "y_range", "z_range", ..}
    """
    if kind not in BOUNDING_BOX_KINDS:
        raise BossBadRequest(f"bounding box type must be one of {', '.join(BOUNDING_BOX_KINDS)}")

    def decode(response):
        body = response.json()
        try:
            return BoundingBox(*(tuple(int(v) for v in body[f"{a}_range"]) for a in ("x", "y", "z")))
        except (KeyError, TypeError) as exc:
            raise ValueError("not a bounding box") from exc

    route = path("boundingbox", collection, experiment, channel, resolution, int(obj_id)) + "/"
    return session.get(route, params={"type": kind}, decode=decode, what="the bounding box", describe=False)


def ping(session):
    """BOSS answers at all (no login). GET /ping/"""
    try:
        response = session._http().get(f"{session.url}/ping/", timeout=session.timeout)
    except requests.RequestException as exc:
        raise BossUnavailable(f"BOSS did not answer ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise BossUnavailable(f"BOSS answered {response.status_code}", response.status_code)
