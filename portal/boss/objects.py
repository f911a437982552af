"""BOSS object services on annotation channels, as a portal user: the ids in a box, an object's bounding box.

Object ids come from BOSS's object index, not the voxels. The index can't be had in two cases, and then
`ids_in_box` reads the box's voxels instead (cuboid-aligned requests, np.unique each), up to a bound:
- the ids endpoint wants an explicit read_volumetric_data grant, with no public bypass (boss-api.md 2.4):
  on public data a user who may cut out the voxels is refused their ids (403);
- where indexing is off or not built, the real BOSS answers {"ids": []} although the voxels hold ids
  (real-boss.md 8): an empty answer is checked against the voxels.
Anonymous visitors share one public quota at BOSS (every anonymous read counts against it), so their
voxel reads stay within a much smaller bound than a logged-in user's.

Reference: /work/shared/boss-api.md section 8 (https://docs.theboss.io/docs/).
"""
from math import prod

import numpy as np

import bossdb
from bossdb.errors import BossForbidden
from bossdb.resources import BoundingBox  # noqa: F401 (re-exported)
from portal.boss.session import session_for

KINDS = bossdb.api.BOUNDING_BOX_KINDS
FALLBACK_MAX_VOXELS = 2**26  # 512 MB of uint64 read to list the ids of a box, for a logged-in user
ANONYMOUS_MAX_VOXELS = 2**22  # 32 MB for an anonymous visitor (the shared public quota)
INDEX, VOXELS = "index", "voxels"
FALLBACK_STEP = (1024, 512, 16)  # x, y, z per request: 64 MB of uint64, on BOSS's cuboid grid


def ids_in_box(user, collection, experiment, channel, resolution, x, y, z):
    """(sorted object ids without 0, source): the ids present in the half-open box at `resolution`, and
    where they were read: INDEX (BOSS's object index) or VOXELS (the box's voxels, when the index was
    refused or empty and the box is small enough to read)."""
    session = session_for(user)
    anonymous = user is None or not user.is_authenticated
    small = prod(hi - lo for lo, hi in (x, y, z)) <= (ANONYMOUS_MAX_VOXELS if anonymous else FALLBACK_MAX_VOXELS)
    try:
        ids = bossdb.ids_in_box(session, collection, experiment, channel, resolution, x, y, z)
    except BossForbidden as exc:
        if exc.boss_status == 401 or not small:
            raise
        return _ids_from_voxels(session, collection, experiment, channel, resolution, x, y, z), VOXELS
    if ids or not small:
        return ids, INDEX
    return _ids_from_voxels(session, collection, experiment, channel, resolution, x, y, z), VOXELS


def _steps(lo, hi, step):
    edges = [lo] + list(range((lo // step + 1) * step, hi, step)) + [hi]
    return list(zip(edges[:-1], edges[1:]))


def _ids_from_voxels(session, collection, experiment, channel, resolution, x, y, z):
    """The ids in the box from its voxels (GET /v1/cutout/...), block by block: memory stays at one block."""
    found = set()
    for zs in _steps(*z, FALLBACK_STEP[2]):
        for ys in _steps(*y, FALLBACK_STEP[1]):
            for xs in _steps(*x, FALLBACK_STEP[0]):
                data = bossdb.read_cutout(session, collection, experiment, channel, "uint64", resolution, xs, ys, zs)
                found.update(np.unique(data[data != 0]).tolist())
    return sorted(found)


def bounding_box(user, collection, experiment, channel, resolution, obj_id, kind="tight"):
    """The object's BoundingBox at `resolution`: "tight" (exact) or "loose" (BOSS cuboid-aligned)."""
    return bossdb.bounding_box(session_for(user), collection, experiment, channel, resolution, obj_id, kind)
