"""Voxels written through cutout POST and cutout/to_black PUT, kept on top of a channel's own voxels.

Stored in settings.VAR_DIR/writes/<channel id>/r<level>/t<time>/<cx>_<cy>_<cz>.chunk, one file per BOSS cuboid
(512 x 512 x 16 voxels of that level), so every gunicorn worker sees every write. A chunk holds the written
values and a mask of the voxels written: reads take the written value wherever the mask is set (a to_black
sets the mask with value 0, which hides the voxels beneath), and the channel's own voxels elsewhere.

Writes merge like spdb's (cube.py "Overwrite data with all non-zero values"): non-zero voxels replace what
is there, zeros leave it unchanged. Writes land at the level they name only; nothing propagates to other
levels (BOSS leaves that to a downsample job).

File format: 8-byte little-endian length of the blosc-compressed values, the values, then the blosc-compressed
mask (one byte per voxel). Writers of one channel take an exclusive lock (fcntl) on the channel's folder
lock file; each chunk is replaced atomically, so readers never see half of one.
"""
import fcntl
import os
import shutil
import struct
import threading
from contextlib import contextmanager
from pathlib import Path

import blosc
import numpy as np
from django.conf import settings

CUBOID = (512, 512, 16)  # x, y, z


def channel_dir(channel):
    return Path(settings.VAR_DIR) / "writes" / str(channel.pk)


def has_writes(channel):
    return channel_dir(channel).is_dir()


def _chunk_path(channel, level, t, index):
    cx, cy, cz = index
    return channel_dir(channel) / f"r{level}" / f"t{t}" / f"{cx}_{cy}_{cz}.chunk"


def _shape():
    return CUBOID[2], CUBOID[1], CUBOID[0]


def _load(path, dtype):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    (n,) = struct.unpack("<Q", raw[:8])
    values = np.frombuffer(blosc.decompress(raw[8:8 + n]), dtype=dtype).reshape(_shape()).copy()
    mask = np.frombuffer(blosc.decompress(raw[8 + n:]), dtype=bool).reshape(_shape()).copy()
    return values, mask


def _save(path, values, mask):
    path.parent.mkdir(parents=True, exist_ok=True)
    v = blosc.compress(np.ascontiguousarray(values).tobytes(), typesize=values.dtype.itemsize)
    m = blosc.compress(np.ascontiguousarray(mask).tobytes(), typesize=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(struct.pack("<Q", len(v)) + v + m)
    os.replace(tmp, path)


@contextmanager
def _locked(channel):
    folder = channel_dir(channel)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _chunks(x, y, z):
    """(chunk index, slices in the chunk, slices in the request array (z, y, x)) for every cuboid met."""
    ranges = []
    for (lo, hi), c in zip((x, y, z), CUBOID):
        ranges.append(range(lo // c, (hi - 1) // c + 1))
    for cz in ranges[2]:
        for cy in ranges[1]:
            for cx in ranges[0]:
                inner, outer = [], []
                for (lo, hi), ci, c in zip((z, y, x), (cz, cy, cx), CUBOID[::-1]):
                    a, b = max(lo, ci * c), min(hi, (ci + 1) * c)
                    inner.append(slice(a - ci * c, b - ci * c))
                    outer.append(slice(a - lo, b - lo))
                yield (cx, cy, cz), tuple(inner), tuple(outer)


def write(channel, level, x, y, z, t0, data, black=False):
    """Merge (T, Z, Y, X) `data` at level `level`, time samples t0..: non-zero voxels win; black=True clears."""
    dtype = np.dtype(channel.datatype)
    with _locked(channel):
        for i in range(data.shape[0]):
            for index, inner, outer in _chunks(x, y, z):
                block = data[i][outer]
                if not black and not block.any():
                    continue  # zeros leave a chunk unchanged
                path = _chunk_path(channel, level, t0 + i, index)
                loaded = _load(path, dtype)
                values, mask = loaded if loaded else (np.zeros(_shape(), dtype), np.zeros(_shape(), bool))
                if black:
                    values[inner] = 0
                    mask[inner] = True
                else:
                    nonzero = block != 0
                    values[inner][nonzero] = block[nonzero]
                    mask[inner] |= nonzero
                _save(path, values, mask)


def overlay(channel, level, x, y, z, t, out):
    """Put the written voxels over `out` (T, Z, Y, X) of the box at `level`, time samples t[0]..t[1]-1."""
    if not has_writes(channel):
        return out
    dtype = np.dtype(channel.datatype)
    level_dir = channel_dir(channel) / f"r{level}"
    if not level_dir.is_dir():
        return out
    for i, ti in enumerate(range(*t)):
        if not (level_dir / f"t{ti}").is_dir():
            continue
        for index, inner, outer in _chunks(x, y, z):
            loaded = _load(_chunk_path(channel, level, ti, index), dtype)
            if loaded is None:
                continue
            values, mask = loaded
            target = out[i][outer]
            m = mask[inner]
            target[m] = values[inner][m]
    return out


def object_box(channel, level, obj_id, t=0):
    """The level-`level` half-open (x, y, z) bounds of the written voxels labelled obj_id, or None."""
    folder = channel_dir(channel) / f"r{level}" / f"t{t}"
    if not folder.is_dir():
        return None
    dtype = np.dtype(channel.datatype)
    wanted = np.array(obj_id, dtype=dtype)
    found = None
    for path in sorted(folder.glob("*.chunk")):
        loaded = _load(path, dtype)
        if loaded is None:
            continue
        values, mask = loaded
        hits = np.nonzero(mask & (values == wanted))
        if len(hits[0]):
            cx, cy, cz = (int(v) for v in path.stem.split("_"))
            origin = (cx * CUBOID[0], cy * CUBOID[1], cz * CUBOID[2])
            zs, ys, xs = hits
            box = [(o + int(a.min()), o + int(a.max()) + 1) for a, o in zip((xs, ys, zs), origin)]
            found = box if found is None else [(min(a, c), max(b, d)) for (a, b), (c, d) in zip(found, box)]
    return found


def forget(channel):
    shutil.rmtree(channel_dir(channel), ignore_errors=True)
