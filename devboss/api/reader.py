"""The voxels a cutout reads: a channel's own (procedural, stored, or none), as the real BOSS would hold them,
with the cutout writes on top.

What BOSS holds, beyond the pattern (numbers are real-boss behaviours, see devboss.api.realboss):
 2. Level r holds data only inside the downsampled frame (starts and stops divided by 2**r): a box that the
    level-0 bounds check lets through but that lies outside reads back as zeros there.
 4. A channel whose downsample_status is not DOWNSAMPLED: an annotation read off its base level raises in
    spdb ("Dynamic resolution down-sampling not yet implemented.", a 500); levels above the base that were
    never built (Channel.levels_built False) are zeros; writes at a level are there whatever the status.
 9. CloudVolume channels (storage_type "cloudvol"): the data of the volume itself, one time sample, whatever
    time range was asked (so a 4-D request gets T = 1), no `filter`, and none of the cutout writes (those go to
    spdb, which CloudVolume reads never see); a box outside the mip's bounds raises in CloudVolume (a 500).
"""
import numpy as np

from . import procedural, volumes, writes
from .realboss import ServerError, strict


def level_bounds(frame, r, hierarchy):
    """Data at level r: [start, stop) per axis, starts floored and stops rounded up (x, y; z if isotropic)."""
    s = 2**r
    sz = s if hierarchy == "isotropic" else 1
    return {
        "x": (frame.x_start // s, -(-frame.x_stop // s)),
        "y": (frame.y_start // s, -(-frame.y_stop // s)),
        "z": (frame.z_start // sz, -(-frame.z_stop // sz)),
    }


def key(channel):
    experiment = channel.experiment
    return f"{experiment.collection.name}/{experiment.name}/{channel.name}"


def own(channel, r, x, y, z, t):
    """The channel's own (T, Z, Y, X) voxels at level r, without writes or masks."""
    shape = (t[1] - t[0], z[1] - z[0], y[1] - y[0], x[1] - x[0])
    if channel.source == "stored" and channel.volume_path:
        out = np.zeros(shape, dtype=channel.datatype)
        if t[0] <= 0 < t[1]:  # stored volumes hold one time sample
            out[0 - t[0]] = volumes.read(channel.volume_path, r, x, y, z, channel.datatype)
        return out
    if channel.source == "procedural":
        return procedural.cutout(key(channel), channel.datatype, channel.type, r, x, y, z, t,
                                 channel.experiment.hierarchy_method)
    return np.zeros(shape, dtype=channel.datatype)


def _outside_mask(out, bounds, x, y, z):
    """Zero the voxels of `out` (T, Z, Y, X) outside `bounds`."""
    for axis, (lo, hi), dim in (("x", x, 3), ("y", y, 2), ("z", z, 1)):
        a, b = bounds[axis]
        if lo >= a and hi <= b:
            continue
        index = [slice(None)] * 4
        keep = np.zeros(hi - lo, dtype=bool)
        keep[max(a, lo) - lo:max(0, min(b, hi) - lo)] = True
        index[dim] = ~keep
        out[tuple(index)] = 0


def is_cloudvol(channel):
    return channel.storage_type == "cloudvol" and strict(9)


def _cloudvol(channel, r, x, y, z):
    experiment = channel.experiment
    bounds = level_bounds(experiment.coord_frame, r, experiment.hierarchy_method)
    for axis, (lo, hi) in (("x", x), ("y", y), ("z", z)):
        a, b = bounds[axis]
        if lo < a or hi > b:
            raise ServerError(f"Error downloading cloudvolume data: {axis} {lo}:{hi} is outside the bounds "
                              f"{a}:{b} of mip {r}")
    return own(channel, r, x, y, z, (0, 1))


def read(channel, r, x, y, z, t, index=False):
    """(T, Z, Y, X) voxels at level r as BOSS's cutout service returns them (`index`: as an id index sees
    them, which never raises). Raises ServerError where BOSS answers 500."""
    if is_cloudvol(channel):
        return _cloudvol(channel, r, x, y, z)
    experiment = channel.experiment
    off_base = r != channel.base_resolution
    downsampled = channel.downsample_status.upper() == "DOWNSAMPLED"
    if strict(4) and off_base and not downsampled and channel.type == "annotation" and not index:
        raise ServerError("Dynamic resolution down-sampling not yet implemented.")
    if strict(4) and r > channel.base_resolution and not channel.levels_built:
        out = np.zeros((t[1] - t[0], z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=channel.datatype)
    else:
        out = own(channel, r, x, y, z, t)
        if strict(2) and r > 0:
            _outside_mask(out, level_bounds(experiment.coord_frame, r, experiment.hierarchy_method), x, y, z)
    return writes.overlay(channel, r, x, y, z, t, out)


# ---- ids in a region, as spdb's ObjectIndices computes them (behaviour 8) --------------------------------

CUBOID = (512, 512, 16)


def _interior(lo, hi, c):
    """The whole cuboids inside [lo, hi) along one axis (spdb's Region), or None."""
    a, b = -(-lo // c) * c, hi // c * c
    return (a, b) if a < b else None


def partial_boxes(x, y, z):
    """The parts of the box not covered by whole cuboids (spdb: get_all_partial_sub_regions), and the interior
    (get_cuboid_aligned_sub_region) or None."""
    inner = [_interior(lo, hi, c) for (lo, hi), c in zip((x, y, z), CUBOID)]
    if None in inner:
        return [(x, y, z)], None
    (ix, iy, iz) = inner
    boxes = [
        (x, y, (z[0], iz[0])), (x, y, (iz[1], z[1])),
        (x, (y[0], iy[0]), iz), (x, (iy[1], y[1]), iz),
        ((x[0], ix[0]), iy, iz), ((ix[1], x[1]), iy, iz),
    ]
    return [b for b in boxes if all(lo < hi for lo, hi in b)], (ix, iy, iz)


def region_ids(channel, r, x, y, z):
    """Sorted non-zero ids in the box at time sample 0 (BOSS's Ids view passes no time range)."""
    t = (0, 1)
    indexed = channel.object_index or not strict(8)
    if indexed and not is_cloudvol(channel):
        try:
            return np.unique(read(channel, r, x, y, z, t))
        except ServerError:
            pass  # the partial cuboids raise below, as spdb's cutouts of them do
    boxes, interior = partial_boxes(x, y, z)
    found = [np.unique(read(channel, r, *box, t)) for box in boxes]
    if indexed and interior is not None:
        found.append(np.unique(read(channel, r, *interior, t, index=True)))
    ids = np.unique(np.concatenate(found)) if found else np.array([], dtype=channel.datatype)
    return ids
