"""BOSS object services on annotation channels: the ids in a box, an object's bounding box.

One plain function per endpoint, as the user (or anonymous), raising only portal.boss.errors. A requests
session with the user's credential: intern's get_ids_in_region and get_bounding_box raise bare HTTPErrors
without BOSS's message, which the user should see ("Object 7 not found at resolution 2.").

BOSS's ids endpoint wants an explicit read_volumetric_data grant, with no public bypass (boss-api.md
2.4): on public data a user who may cut out the voxels is refused their ids. Then `ids_in_box` reads the
box's voxels instead (cuboid-aligned requests, np.unique each), up to FALLBACK_MAX_VOXELS.

Reference: /work/shared/boss-api.md section 8 (https://docs.theboss.io/docs/).
"""
from dataclasses import dataclass
from math import prod

import numpy as np
from urllib.parse import quote

import requests
from django.conf import settings

from portal.boss.errors import BossBadRequest, BossForbidden, BossTimeout, BossUnavailable
from portal.boss.remote import remote_for, session_for
from portal.boss.volume import error_from_response, read_block

KINDS = ("tight", "loose")
FALLBACK_MAX_VOXELS = 2**26  # 512 MB of uint64 read to list the ids of a public box
FALLBACK_STEP = (1024, 512, 16)  # x, y, z per request: 64 MB of uint64, on BOSS's cuboid grid


@dataclass(frozen=True)
class BoundingBox:
    """Half-open voxel ranges at the level asked for."""

    x: tuple
    y: tuple
    z: tuple


def _url(endpoint, *parts):
    return f"{settings.BOSS_URL}/v1/{endpoint}/" + "/".join(quote(str(p), safe=":") for p in parts) + "/"


def _get(user, url, params=None):
    with session_for(user) as session:
        try:
            response = session.get(url, params=params,
                                   timeout=(settings.BOSS_CONNECT_TIMEOUT, settings.BOSS_READ_TIMEOUT))
        except requests.Timeout as exc:
            raise BossTimeout("BOSS did not answer in time") from exc
        except requests.RequestException as exc:
            raise BossUnavailable(f"BOSS connection failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise error_from_response(response)
    try:
        return response.json()
    except ValueError as exc:
        raise BossUnavailable("BOSS sent an unreadable answer") from exc


def ids_in_box(user, collection, experiment, channel, resolution, x, y, z):
    """Sorted object ids (ints, without 0) present in the half-open box at `resolution`.

    GET /v1/ids/{c}/{e}/{ch}/{res}/{x0}:{x1}/{y0}:{y1}/{z0}:{z1}/0:1/ → {"ids": ["1", "4"]}
    """
    url = _url("ids", collection, experiment, channel, resolution,
               f"{x[0]}:{x[1]}", f"{y[0]}:{y[1]}", f"{z[0]}:{z[1]}", "0:1")
    try:
        body = _get(user, url)
    except BossForbidden as exc:
        if exc.boss_status == 401 or prod(hi - lo for lo, hi in (x, y, z)) > FALLBACK_MAX_VOXELS:
            raise
        return _ids_from_voxels(user, collection, experiment, channel, resolution, x, y, z)
    try:
        return sorted(int(i) for i in body["ids"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BossUnavailable("BOSS sent an unreadable list of ids") from exc


def _steps(lo, hi, step):
    edges = [lo] + list(range((lo // step + 1) * step, hi, step)) + [hi]
    return list(zip(edges[:-1], edges[1:]))


def _ids_from_voxels(user, collection, experiment, channel, resolution, x, y, z):
    """The ids in the box from its voxels (GET /v1/cutout/...), block by block: memory stays at one block."""
    remote = remote_for(user)
    found = set()
    for zs in _steps(*z, FALLBACK_STEP[2]):
        for ys in _steps(*y, FALLBACK_STEP[1]):
            for xs in _steps(*x, FALLBACK_STEP[0]):
                data = read_block(remote, collection, experiment, channel, "uint64", resolution, xs, ys, zs)
                found.update(np.unique(data[data != 0]).tolist())
    return sorted(found)


def bounding_box(user, collection, experiment, channel, resolution, obj_id, kind="tight"):
    """The object's bounding box at `resolution`: "tight" (exact) or "loose" (BOSS cuboid-aligned).

    GET /v1/boundingbox/{c}/{e}/{ch}/{res}/{id}/?type=tight → {"x_range": [..], "y_range", "z_range", ..}
    """
    if kind not in KINDS:
        raise BossBadRequest(f"bounding box type must be one of {', '.join(KINDS)}")
    body = _get(user, _url("boundingbox", collection, experiment, channel, resolution, int(obj_id)),
                params={"type": kind})
    try:
        return BoundingBox(*(tuple(int(v) for v in body[f"{a}_range"]) for a in ("x", "y", "z")))
    except (KeyError, TypeError, ValueError) as exc:
        raise BossUnavailable("BOSS sent an unreadable bounding box") from exc
