"""The expected size of a compressed result, shown before submit (the form's size section, the live check).

For each channel, up to three samples are read from BOSS: the cuboids (512×512×16 on BOSS's grid) at 1/6,
1/2 and 5/6 of the box's diagonal, each cut to the box (256×256×16 for voxels over 2 bytes, so a uint64
sample stays at 8 MB). They are compressed as the job would compress them: TIFF planes with the writer's
zstd or deflate, OME-Zarr chunks of 16×256×256 with its blosc codec. Their ratio times the channel's bytes
is the channel's expected size. A sample is one request of what BOSS reads best (one cuboid), cached per
user and sample, so typing in the form asks BOSS again only for cuboids it has not read. Data vary: this
is an estimate, and the page says so.
"""
import hashlib
import json

import numpy as np
from django.core.cache import cache

import bossdb
from bossdb.errors import BossError
from bossdb.geometry import CUBOID, DTYPE_BYTES
from cutouts.pipeline.writers.base import uncompressed

CACHE_SECONDS = 600


SAMPLE_AT = (1 / 6, 1 / 2, 5 / 6)  # along the box's diagonal


def sample_boxes(box, itemsize):
    """The distinct sample boxes of `box` (SAMPLE_AT), in order."""
    out = []
    for f in SAMPLE_AT:
        b = sample_box(box, itemsize, f)
        if b not in out:
            out.append(b)
    return out


def sample_box(box, itemsize, at=0.5):
    """{axis: (lo, hi)} of a sample: the cuboid holding the point `at` of the way along the box's diagonal,
    cut to the box; x and y halved (inside that cuboid) for voxels over 2 bytes."""
    out = {}
    for axis, step in zip("xyz", CUBOID):
        lo, hi = box[axis]
        centre = min(hi - 1, lo + int((hi - lo) * at))
        if axis != "z" and itemsize > 2:
            half = step // 2
            start = centre // half * half
            out[axis] = (max(lo, start), min(hi, start + half))
        else:
            start = centre // step * step
            out[axis] = (max(lo, start), min(hi, start + step))
    return out


def compressed_bytes(data, fmt, compression, origin_zyx=(0, 0, 0)):
    """The bytes `data` (Z, Y, X) takes compressed as format `fmt` compresses it, in the chunks an OME-Zarr
    of a box starting at `origin_zyx` has (shallower where the box starts off the cuboid grid in z)."""
    if fmt == "ome-zarr":
        from cutouts.pipeline.writers.zarr import blosc_codec, chunk_zyx

        codec = blosc_codec(compression, data.dtype)
        cz, cy, cx = chunk_zyx(origin_zyx)
        return sum(len(codec.encode(np.ascontiguousarray(data[z:z + cz, y:y + cy, x:x + cx])))
                   for z in range(0, data.shape[0], cz) for y in range(0, data.shape[1], cy)
                   for x in range(0, data.shape[2], cx))
    from cutouts.pipeline.writers import FORMATS
    from cutouts.pipeline.writers.ctiff import encoder, uses_predictor
    from cutouts.pipeline.writers.base import effective_flavour

    flavour = effective_flavour(getattr(FORMATS.get(fmt), "flavour", "ome"), data.dtype)
    encode = encoder(compression, uses_predictor(flavour, data.dtype))
    return sum(len(encode(np.ascontiguousarray(plane))) for plane in data)


def _key(user, collection, experiment, channel, resolution, sample, fmt, compression, origin):
    raw = json.dumps([user.pk, collection, experiment, channel, resolution, sorted(sample.items()), fmt, compression,
                      origin if fmt == "ome-zarr" else None])
    return "compressed-ratio:" + hashlib.sha256(raw.encode()).hexdigest()


def channel_ratio(session, user, collection, experiment, channel, datatype, resolution, box, fmt, compression):
    """The compressed / raw ratio of the channel's samples of `box` (each cached), weighed by their bytes."""
    raw = packed = 0
    origin = [box[axis][0] for axis in "zyx"]
    for sample in sample_boxes(box, DTYPE_BYTES.get(datatype, 1)):
        key = _key(user, collection, experiment, channel, resolution, sample, fmt, compression, origin)
        sizes = cache.get(key)
        if sizes is None:
            data = np.asarray(bossdb.read_cutout(session, collection, experiment, channel, datatype, resolution,
                                                 sample["x"], sample["y"], sample["z"]))
            sizes = (int(data.nbytes), compressed_bytes(data, fmt, compression, origin))
            cache.set(key, sizes, CACHE_SECONDS)
        raw, packed = raw + sizes[0], packed + sizes[1]
    return packed / max(raw, 1)


def estimate(session, user, collection, experiment, channels, resolution, box, times, fmt, compression):
    """{"bytes": expected size of the result, "ratio": of its raw bytes} for `channels` [(name, datatype)],
    or None when it can't be estimated (no compression, or BOSS failed on the sample)."""
    if uncompressed(compression):
        return None
    voxels = 1
    for lo, hi in box.values():
        voxels *= hi - lo
    raw = expected = 0
    try:
        for name, datatype in channels:
            nbytes = voxels * times * DTYPE_BYTES.get(datatype, 1)
            ratio = channel_ratio(session, user, collection, experiment, name, datatype, resolution, box, fmt,
                                  compression)
            raw += nbytes
            expected += nbytes * ratio
    except (BossError, KeyError, ValueError):
        return None
    if not raw:
        return None
    return {"bytes": int(expected), "ratio": expected / raw}
