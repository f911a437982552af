"""Volumes stored on disk by `load_volume`: one .npy file (Z, Y, X) per resolution level, read with mmap.

A channel's folder (Channel.volume_path) holds `level_<r>.npy` and `volume.json`, which gives, per level,
the level-r voxel coordinate of the array's first element ("origin", [x, y, z]). Levels follow the same
decimation rule as devboss.api.procedural: level-r voxel (x, y, z) = level-0 voxel (x*2**r, y*2**r, z)
(z*2**r too when isotropic). Voxels outside the stored array read back as zeros, like unwritten BOSS space.
"""
import json
from pathlib import Path

import numpy as np

META = "volume.json"


def level_path(directory, level):
    return Path(directory) / f"level_{level}.npy"


def _first_index(start, scale):
    """The first level-r coordinate whose level-0 coordinate is at or after `start`."""
    return -(-start // scale)


def write_levels(volume, directory, start, levels, hierarchy="anisotropic"):
    """Write `levels` decimated copies of the level-0 (Z, Y, X) array whose first voxel is at `start` (x, y, z)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    x_start, y_start, z_start = start
    origins = {}
    for level in range(levels):
        s = 2**level
        sz = s if hierarchy == "isotropic" else 1
        ox, oy, oz = _first_index(x_start, s), _first_index(y_start, s), _first_index(z_start, sz)
        decimated = volume[oz * sz - z_start::sz, oy * s - y_start::s, ox * s - x_start::s]
        np.save(level_path(directory, level), np.ascontiguousarray(decimated), allow_pickle=False)
        origins[str(level)] = [ox, oy, oz]
    (directory / META).write_text(json.dumps({"origin": origins, "dtype": str(volume.dtype), "hierarchy": hierarchy}))


def read(directory, level, x, y, z, dtype):
    """The (Z, Y, X) block [x0, x1) x [y0, y1) x [z0, z1) of a stored level, zero outside the stored array."""
    directory = Path(directory)
    origin = json.loads((directory / META).read_text())["origin"].get(str(level))
    out = np.zeros((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype=dtype)
    path = level_path(directory, level)
    if origin is None or not path.exists():
        return out
    stored = np.load(path, mmap_mode="r", allow_pickle=False)
    src, dst = [], []
    # Axis order in the array is (z, y, x); origin is [x, y, z].
    for (lo, hi), o, n in zip((z, y, x), origin[::-1], stored.shape):
        a, b = max(lo, o), min(hi, o + n)
        if a >= b:
            return out
        src.append(slice(a - o, b - o))
        dst.append(slice(a - lo, b - lo))
    out[tuple(dst)] = stored[tuple(src)]
    return out
