"""A box's size at every level BOSS serves: the form's "size before submit" table and the size rule of the
request serializer (cutouts.serializers), which re-exports these. Sizes are bytes; pages write them with
portal.units.human_bytes."""
from dataclasses import dataclass
from math import ceil, floor, prod

from django.conf import settings

AXES = ("x", "y", "z")


def level_box(levels, resolution):
    """(start, stop) per axis that BOSS serves at `resolution` (Level.bounds: see bossdb.levels)."""
    level = next(lv for lv in levels if lv.resolution == resolution)
    return dict(zip(AXES, level.bounds))


def scale_box(box, levels, from_r, to_r):
    """The same physical box at another level: coordinates scale by the voxel-size ratio, rounded out."""
    src = next(lv for lv in levels if lv.resolution == from_r).voxel_size
    dst = next(lv for lv in levels if lv.resolution == to_r).voxel_size
    bounds = level_box(levels, to_r)
    out = {}
    for i, axis in enumerate(AXES):
        ratio = src[i] / dst[i]
        lo, hi = floor(box[axis][0] * ratio), ceil(box[axis][1] * ratio)
        lo, hi = max(lo, bounds[axis][0]), min(hi, bounds[axis][1])
        out[axis] = (lo, max(hi, lo + 1))
    return out


@dataclass
class SizeRow:
    resolution: int
    box: dict
    voxels: int
    nbytes: int
    fits: bool


def sizes_by_level(box, levels, resolution, bytes_per_voxel, times=1, usable=None):
    """Voxels and bytes of the same physical box at every level BOSS serves (the 'size before submit'
    table); `usable`: the resolutions it serves for the chosen channels (default: every level it serves)."""
    rows = []
    for level in levels:
        if level.bounds is None or (usable is not None and level.resolution not in usable):
            continue
        b = scale_box(box, levels, resolution, level.resolution)
        voxels = prod(hi - lo for lo, hi in b.values()) * times
        nbytes = voxels * bytes_per_voxel
        rows.append(SizeRow(level.resolution, b, voxels, nbytes, nbytes <= settings.CUTOUT_MAX_BYTES))
    return rows


def finest_fitting(rows):
    return next((row for row in rows if row.fits), None)
