"""Procedural voxels: every voxel of every demo channel, computed on demand, the same every time.

`cutout(key, datatype, kind, level, x, y, z, t)` is a pure function (numpy only, no Django), so tests,
benchmarks and the portal's tests can import it and know each expected voxel without a server.

The pattern, in level-0 voxel coordinates (X, Y, Z) and time sample T:

* Images: a smooth background, the sum of three 1-D sine profiles (one per axis; Z's profile also
  shifts with T), plus bright ellipsoids ("spheres"). uint16 channels span the full 0..65535 range.
* Annotations: the same ellipsoids, labelled with their object id; background 0. Some ids are above
  2**32, so clients that squeeze ids into 32 bits show up in tests.
* Spheres live on a grid of cells of CELL level-0 voxels: at most one per cell, wholly inside it (so
  objects never overlap and an id gives its cell back, see `object_id`/`sphere_for_id`). Their layout is
  seeded by "collection/experiment" only, so an experiment's segmentation labels its image's spheres;
  the background and brightness are seeded by the whole key, so channels differ. The radii grow a
  little with T (and the background shifts), so time samples differ.

Level rule (decimation): the level-r voxel (x, y, z) equals the level-0 voxel (x * 2**r, y * 2**r, z)
for the anisotropic hierarchy, and (x * 2**r, y * 2**r, z * 2**r) for the isotropic one. Every level is
therefore exactly derivable from level 0, and from each other.

Speed: the background is built by broadcasting 1-D profiles, and each sphere is evaluated only over its
bounding box with integer arithmetic, so a 512x512x16 block takes a few ms and ~500 MB a few seconds.
"""
import hashlib
import math

import numpy as np

CELL = (256, 256, 32)  # level-0 voxels per sphere cell, (x, y, z)
MAX_R_XY = 80  # largest radius at T=0, in level-0 voxels
GROWTH_XY = 2  # radius growth per time step (mod 4)
GROWTH_Z = 1
HIGH_ID = 2**32  # added to the ids of about half the objects
_ID_GRID = 1024  # cells per axis addressable by an id

DTYPE_MAX = {"uint8": 255, "uint16": 65535, "uint32": 2**32 - 1, "uint64": 2**64 - 1}


def _hash(*parts):
    """A deterministic 64-bit integer from the parts (stable across processes, unlike hash())."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _unit(h, shift=0):
    """A float in [0, 1) from 16 bits of h."""
    return ((h >> shift) & 0xFFFF) / 65536.0


def _layout_key(key):
    """Spheres are shared by the channels of one experiment: "c/e/ch" -> "c/e"."""
    return key.rsplit("/", 1)[0] if key.count("/") >= 2 else key


class Sphere:
    """One object: an ellipsoid of radius r_xy (x and y) and r_z, centred on integer level-0 voxels."""

    __slots__ = ("cell", "cx", "cy", "cz", "r_xy", "r_z", "id", "seed")

    def __init__(self, cell, cx, cy, cz, r_xy, r_z, obj_id, seed):
        self.cell, self.cx, self.cy, self.cz = cell, cx, cy, cz
        self.r_xy, self.r_z, self.id, self.seed = r_xy, r_z, obj_id, seed

    def radii(self, t):
        return self.r_xy + GROWTH_XY * (t % 4), self.r_z + GROWTH_Z * ((t % 4) // 2)

    def box(self, t):
        """Level-0 inclusive bounds ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) at time t."""
        rxy, rz = self.radii(t)
        return (self.cx - rxy, self.cx + rxy), (self.cy - rxy, self.cy + rxy), (self.cz - rz, self.cz + rz)


def object_id(cell, layout_hash):
    ix, iy, iz = cell
    low = 1 + ix + _ID_GRID * iy + _ID_GRID * _ID_GRID * iz
    return low + (HIGH_ID if layout_hash & 1 else 0)


def sphere_in_cell(layout, cell):
    """The sphere of one cell, or None (about a quarter of the cells are empty)."""
    ix, iy, iz = cell
    if min(cell) < 0 or max(cell) >= _ID_GRID:
        return None
    h = _hash("sphere", layout, ix, iy, iz)
    if _unit(h) < 0.25:
        return None
    r_xy = 20 + int(_unit(h, 16) * (MAX_R_XY - 20))
    r_z = max(3, r_xy // 8)
    # Leave room for the growth over time so a sphere never leaves its cell.
    mxy = r_xy + 3 * GROWTH_XY + 1
    mz = r_z + 2 * GROWTH_Z + 1
    cx = ix * CELL[0] + mxy + int(_unit(h, 32) * (CELL[0] - 2 * mxy))
    cy = iy * CELL[1] + mxy + int(_unit(h, 48) * (CELL[1] - 2 * mxy))
    hz = _hash("z", layout, ix, iy, iz)
    cz = iz * CELL[2] + mz + int(_unit(hz) * max(1, CELL[2] - 2 * mz))
    return Sphere(cell, cx, cy, cz, r_xy, r_z, object_id(cell, hz >> 20), hz)


def sphere_for_id(key, obj_id):
    """The sphere labelled obj_id in this channel's layout, or None if no such object exists."""
    obj_id = int(obj_id)
    if obj_id <= 0:
        return None
    low = (obj_id % HIGH_ID) - 1
    if low < 0:
        return None
    ix, rest = low % _ID_GRID, low // _ID_GRID
    iy, iz = rest % _ID_GRID, rest // _ID_GRID
    sphere = sphere_in_cell(_layout_key(key), (ix, iy, iz))
    if sphere is None or sphere.id != obj_id:
        return None
    return sphere


def spheres_in(key, box0):
    """Spheres whose cells meet the level-0 inclusive box ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi))."""
    layout = _layout_key(key)
    ranges = [range(lo // c, hi // c + 1) for (lo, hi), c in zip(box0, CELL)]
    found = []
    for iz in ranges[2]:
        for iy in ranges[1]:
            for ix in ranges[0]:
                sphere = sphere_in_cell(layout, (ix, iy, iz))
                if sphere is not None:
                    found.append(sphere)
    return found


def scales(level, hierarchy="anisotropic"):
    """Level-0 voxels per level-r voxel along (x, y, z)."""
    s = 2**level
    return s, s, (s if hierarchy == "isotropic" else 1)


def _profile(key, axis, coords, t=0):
    """A smooth 1-D profile in [0, 1] over level-0 coordinates."""
    h = _hash("profile", key, axis)
    period = 600.0 + _unit(h) * 1400.0 if axis != "z" else 40.0 + _unit(h) * 120.0
    phase = _unit(h, 16) * 2 * math.pi + 0.7 * t
    return 0.5 + 0.5 * np.sin(coords.astype(np.float64) * (2 * math.pi / period) + phase)


def _image_levels(datatype):
    top = min(DTYPE_MAX[datatype], 65535)
    per_axis = int(top * 0.8) // 3  # the background stays below 80% of the range
    return top, per_axis


def _background(key, datatype, X, Y, Z, t, out):
    """out[z, y, x] = sum of the three axis profiles (broadcast, no per-voxel float math)."""
    _, per_axis = _image_levels(datatype)
    dt = out.dtype
    gx = np.rint(_profile(key, "x", X) * per_axis).astype(dt)
    gy = np.rint(_profile(key, "y", Y) * per_axis).astype(dt)
    gz = np.rint(_profile(key, "z", Z, t) * per_axis).astype(dt)
    gzy = gz[:, None] + gy[None, :]
    np.add(gzy[:, :, None], gx[None, None, :], out=out)


def _brightness(key, sphere, t, datatype):
    top, _ = _image_levels(datatype)
    frac = (_unit(_hash("bright", key, sphere.seed)) + 0.13 * t) % 1.0
    return int(top * (0.82 + 0.18 * frac))


def _axis_slice(lo0, hi0, scale, start, stop):
    """Level-r indices (relative to start) whose level-0 coordinate lies in [lo0, hi0], within [start, stop)."""
    a = max(start, -(-lo0 // scale))
    b = min(stop, hi0 // scale + 1)
    return (a, b) if a < b else None


def _paint_spheres(key, kind, datatype, spheres, sx, sy, sz, x, y, z, t, out):
    for sphere in spheres:
        (xl, xh), (yl, yh), (zl, zh) = sphere.box(t)
        xs = _axis_slice(xl, xh, sx, *x)
        ys = _axis_slice(yl, yh, sy, *y)
        zs = _axis_slice(zl, zh, sz, *z)
        if xs is None or ys is None or zs is None:
            continue
        rxy, rz = sphere.radii(t)
        # Integer ellipsoid test: dx^2 rz^2 + dy^2 rz^2 + dz^2 rxy^2 <= rxy^2 rz^2 (exact at every level).
        dx = np.arange(*xs, dtype=np.int64) * sx - sphere.cx
        dy = np.arange(*ys, dtype=np.int64) * sy - sphere.cy
        dz = np.arange(*zs, dtype=np.int64) * sz - sphere.cz
        ax, ay, az = dx * dx * rz * rz, dy * dy * rz * rz, dz * dz * rxy * rxy
        inside = (az[:, None, None] + ay[None, :, None] + ax[None, None, :]) <= rxy * rxy * rz * rz
        if not inside.any():
            continue
        if kind == "annotation":
            value = sphere.id if datatype == "uint64" else (sphere.id % DTYPE_MAX[datatype]) or 1
        else:
            value = _brightness(key, sphere, t, datatype)
        view = out[zs[0] - z[0]:zs[1] - z[0], ys[0] - y[0]:ys[1] - y[0], xs[0] - x[0]:xs[1] - x[0]]
        view[inside] = value


def cutout(key, datatype, kind, level, x, y, z, t=(0, 1), hierarchy="anisotropic"):
    """The voxels of [x0, x1) x [y0, y1) x [z0, z1) x [t0, t1) at `level`, as a C-order (T, Z, Y, X) array.

    key: "collection/experiment/channel"; datatype: uint8 | uint16 | uint64; kind: image | annotation.
    Ranges are in the level's voxel grid (see the level rule in the module docstring).
    """
    (x0, x1), (y0, y1), (z0, z1), (t0, t1) = x, y, z, t
    dtype = np.dtype(datatype)
    out = np.zeros((max(0, t1 - t0), max(0, z1 - z0), max(0, y1 - y0), max(0, x1 - x0)), dtype=dtype)
    if out.size == 0:
        return out
    sx, sy, sz = scales(level, hierarchy)
    X = np.arange(x0, x1, dtype=np.int64) * sx
    Y = np.arange(y0, y1, dtype=np.int64) * sy
    Z = np.arange(z0, z1, dtype=np.int64) * sz
    # Each sphere lies wholly inside its cell, so only the cells the request meets can contribute.
    box0 = ((X[0], X[-1]), (Y[0], Y[-1]), (Z[0], Z[-1]))
    spheres = spheres_in(key, box0)
    for i, ti in enumerate(range(t0, t1)):
        if kind != "annotation":
            _background(key, datatype, X, Y, Z, ti, out[i])
        _paint_spheres(key, kind, datatype, spheres, sx, sy, sz, x, y, z, ti, out[i])
    return out


def object_box(key, obj_id, level, hierarchy="anisotropic", t=0):
    """Tight half-open level-r box ((x0, x1), (y0, y1), (z0, z1)) of object obj_id, or None if unknown.

    Computed from the object's geometry: only its own bounding box is evaluated, never the volume.
    """
    sphere = sphere_for_id(key, obj_id)
    if sphere is None:
        return None
    sx, sy, sz = scales(level, hierarchy)
    bounds = sphere.box(t)
    ranges = []
    for (lo, hi), s in zip(bounds, (sx, sy, sz)):
        ranges.append((-(-lo // s), hi // s + 1))
    block = cutout(key, "uint64", "annotation", level, *ranges, t=(t, t + 1), hierarchy=hierarchy)[0]
    hit = block == np.uint64(sphere.id)
    if not hit.any():
        return None  # too small to be seen at this level
    zs, ys, xs = (np.flatnonzero(hit.any(axis=axes)) for axes in ((1, 2), (0, 2), (0, 1)))
    (x0, _), (y0, _), (z0, _) = ranges
    return (
        (x0 + int(xs[0]), x0 + int(xs[-1]) + 1),
        (y0 + int(ys[0]), y0 + int(ys[-1]) + 1),
        (z0 + int(zs[0]), z0 + int(zs[-1]) + 1),
    )
