"""One Zarr chunk = one BOSS cutout, read through the bossdb client and returned as an encoded chunk.

A whole chunk is BOSS's own answer, passed on as it came: BOSS sends a cutout as one blosc frame of the
C-order (t, z, y, x) array, which is exactly a Zarr v2 blosc chunk (a blosc frame carries its codec,
type size and shuffle in its header, so any blosc decoder reads it whatever `cname` the .zarray names).
That saves a decode and an encode per chunk, most of the portal's CPU. The frame is checked first: its
header must announce exactly the chunk's bytes, and its compressed size the body's length. An edge chunk
(smaller than the chunk shape) is decoded, padded with the fill value and encoded with blosc/zstd.

Errors are bossdb's; the view turns them into HTTP statuses. Nothing here ever invents zeros.
"""
import blosc
import numpy as np
from numcodecs import Blosc

from bossdb.api import cutout_route
from zarrview.layout import COMPRESSOR

_encoder = Blosc(cname=COMPRESSOR["cname"], clevel=COMPRESSOR["clevel"], shuffle=COMPRESSOR["shuffle"])


def _check_frame(content, nbytes):
    """ValueError unless `content` is one blosc frame of `nbytes` bytes (the session retries it as an
    unreadable answer, like a body cut short)."""
    try:
        raw, compressed, _ = blosc.get_cbuffer_sizes(content)
    except Exception as exc:  # python-blosc raises its own error types on a damaged header
        raise ValueError(f"not a blosc array ({type(exc).__name__})") from exc
    if raw != nbytes or compressed != len(content):
        raise ValueError(f"a blosc frame of {raw} bytes ({compressed} compressed, body {len(content)}), "
                         f"expected {nbytes}")
    return content


def read_chunk(session, collection, experiment, channel, array, box):
    """The encoded chunk of `array` (a layout.LevelArray) whose BOSS ranges are `box` (x, y, z, t)."""
    x, y, z, t = box
    shape = ((t[1] - t[0],) if t else ()) + (z[1] - z[0], y[1] - y[0], x[1] - x[0])
    dtype = np.dtype(array.dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    content = session.get(cutout_route(collection, experiment, channel, array.resolution, x, y, z, t),
                          params={"access-mode": "no-cache"}, accept="application/blosc",
                          decode=lambda r: _check_frame(r.content, nbytes), what="the cutout", describe=False)
    if array.is_full(box):
        return bytes(content)
    data = np.frombuffer(blosc.decompress(content), dtype=dtype).reshape(shape)
    padded = np.zeros(array.chunks, dtype=dtype)
    padded[tuple(slice(0, n) for n in shape)] = data
    return _encoder.encode(padded)
