"""Zarr v2 chunk files written straight from the blocks, without zarr's read-modify-write of every chunk.

zarr-python writes a region chunk by chunk through its async machinery, reading back each chunk the region
touches; for the blocks of a cutout that cost 5 times the fetch. A `ChunkGrid` knows the array's layout
(shape, chunks, dtype, codec, "/" keys, C order, fill value 0, the layout `.zarray` declares) and writes:

- a chunk the block covers whole: encoded from the block at once and handed to `sink(key, bytes)` (the
  result's ZIP, cutouts/pipeline/writers/zipstream.py), or written as a file when there is no sink. The
  common case: BOSS's 512×512×16 cuboids hold whole 256×256×16 chunks when the box starts on the grid.
  The bytes of an uncompressed chunk are a view of the thread's buffer: the sink writes them before
  returning;
- a chunk the block covers in part (a box off the grid in y or x, an isotropic level 1): a file in `folder`,
  read, merged and written again under that chunk's lock, so two blocks sharing it never lose each other's
  voxels. With a sink the chunk's voxels wait as they are in a slot of one sparse file per array (`Slots`),
  and the chunk is encoded once, and handed to the sink, as soon as this run has written all of its voxels;
  `finish()` encodes those not handed on by the end (a chunk whose other part a run before a crash wrote).
  Encoded chunk files, as before, cost a decode and an encode at every merge, and a file each: a box from
  y 77 took 3.9 CPU s per GB against 2.6 on the grid. Without a sink the files are the chunks, encoded.

A whole chunk is copied out of its block into a buffer each writing thread keeps (`scratch`), not into a
new array: a new 1 MiB array per chunk is new memory the kernel maps and zeroes each time, which cost more
CPU than copying (0.4-0.65 against 0.08-0.11 CPU s per GB, measured on the demo EM). Blosc encodes into
another such buffer (`blosc_into`), for the same reason.

Without a sink each chunk file is written under a temporary name and renamed, so a crash leaves the old
chunk or the new one, never half of one: a job resumed after a crash merges into what is there (with a
sink, into the slots, see `Slots`). Edge chunks are stored
at full chunk size, padded with the fill value, as zarr v2 stores them.
"""
import errno
import os
import sys
import threading
from itertools import product
from math import prod

import numpy as np
from imagecodecs import blosc_encode

from cutouts.pipeline.writers.base import DIRECT_ALIGN, scratch, write_all

LOCKS = 64  # striped locks for chunks shared by blocks
RAW = ".raw"  # the file of an array's chunks that blocks share, their voxels as they are, until whole
BLOSC_OVERHEAD = 16  # blosc's BLOSC_MAX_OVERHEAD: its frame is never longer than the bytes plus this


def blosc_into(codec, chunk):
    """`chunk` (C-contiguous) encoded as numcodecs' Blosc `codec` encodes it, into a buffer this thread keeps:
    a view of it, valid until the thread's next call. The same c-blosc frame and parameters (codec, level,
    shuffle, block size, the voxel's size as typesize); imagecodecs encodes into the buffer given, where
    numcodecs makes a new one of the chunk's size each time and copies the result out of it. For chunks of
    2 MiB and more (uint16, uint64) that new buffer is mapped and faulted in afresh under the worker's malloc
    settings (cutouts/pipeline/memory.py): lz4 of 16-bit fluorescence 1.01 -> 1.14 GB/s a thread."""
    out = scratch((chunk.nbytes + BLOSC_OVERHEAD,), np.uint8, use="encoded")
    encoded = blosc_encode(chunk, codec.clevel, compressor=codec.cname, shuffle=codec.shuffle,
                           typesize=chunk.dtype.itemsize, blocksize=codec.blocksize, numthreads=1, out=out)
    return memoryview(encoded)


class Slots:
    """The voxels of an array's chunks that blocks share, until whole: one sparse file, a slot per chunk at its
    flat index times the chunk's bytes, written and read with O_DIRECT where the file system and the chunk's
    size allow. Through the page cache these writes took 15 % of a job's CPU, and a file per chunk ~1 ms to
    create. A slot never written reads as zeros, the fill value. A write a crash tears touches only the
    voxels of the block being merged (the slot's other voxels are written with the values they had), and a
    resumed job fetches that block again."""

    def __init__(self, path, grid, nbytes):
        self.path, self.grid, self.nbytes = path, grid, nbytes
        self.fd, self.direct = None, nbytes % DIRECT_ALIGN == 0 and hasattr(os, "O_DIRECT")
        self.lock = threading.Lock()

    def _fd(self, buffered=False):
        with self.lock:
            if buffered and self.direct and self.fd is not None:  # the file system refused O_DIRECT
                os.close(self.fd)
                self.fd, self.direct = None, False
            if self.fd is None:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                flags = os.O_RDWR | os.O_CREAT | (os.O_DIRECT if self.direct else 0)
                try:
                    self.fd = os.open(self.path, flags, 0o600)
                except OSError:  # no O_DIRECT here (tmpfs)
                    self.fd, self.direct = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), False
            return self.fd

    def _io(self, call, view, index):
        offset = int(np.ravel_multi_index(index, self.grid)) * self.nbytes
        try:
            return call(self._fd(), view, offset)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not self.direct:
                raise
            return call(self._fd(buffered=True), view, offset)

    def read(self, index, chunk):
        view = memoryview(chunk).cast("B")
        n = self._io(lambda fd, v, off: os.preadv(fd, [v], off), view, index)
        view[n:] = bytes(len(view) - n)  # past the file's end: never written

    def write(self, index, chunk):
        self._io(lambda fd, v, off: write_all(fd, [v], off), memoryview(chunk).cast("B"), index)

    def written(self):
        """The indices of the chunks with a slot in the file."""
        if not os.path.exists(self.path):
            return []
        fd, out, pos = self._fd(), [], 0
        end_of_file = os.fstat(fd).st_size
        while pos < end_of_file:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after pos
                break
            pos = os.lseek(fd, start, os.SEEK_HOLE)
            out += [tuple(int(i) for i in np.unravel_index(flat, self.grid))
                    for flat in range(start // self.nbytes, -(-pos // self.nbytes))]
        return out

    def close(self):
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


class ChunkGrid:
    def __init__(self, folder, shape, chunks, dtype, codec, sink=None, prefix=""):
        self.folder = os.fspath(folder)
        self.sink, self.prefix = sink, prefix
        self.shape = tuple(int(s) for s in shape)
        self.chunks = tuple(int(c) for c in chunks)
        self.dtype = np.dtype(dtype)
        self.codec = codec
        self._locks = [threading.Lock() for _ in range(LOCKS)]
        self._filled = {}  # chunk index -> voxels of it this run wrote, for chunks still in their slot
        grid = tuple(-(-n // c) for n, c in zip(self.shape, self.chunks))
        self._slots = Slots(os.path.join(self.folder, "shared" + RAW), grid, prod(self.chunks) * self.dtype.itemsize)
        self._dirs = set()
        self._dirs_lock = threading.Lock()

    def _path(self, index):
        return os.path.join(self.folder, *(str(i) for i in index))

    def _encode(self, chunk):
        if self.codec is None:
            return memoryview(np.ascontiguousarray(chunk)).cast("B")  # written before the buffer is reused
        return blosc_into(self.codec, np.ascontiguousarray(chunk))  # likewise

    def _decode(self, raw):
        if self.codec is not None:
            raw = self.codec.decode(raw)
        return np.frombuffer(raw, self.dtype).reshape(self.chunks).copy()

    def _whole(self, index, chunk):
        if self.sink is None:
            self._store(index, chunk)
        else:
            self.sink(self._key(index), self._encode(chunk))

    def _store(self, index, chunk):
        path = self._path(index)
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            with self._dirs_lock:
                self._dirs.add(parent)
        tmp = f"{path}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as f:
            f.write(self._encode(chunk))
        os.replace(tmp, path)

    def _stored(self, index):
        """The chunk as its slot holds it (zeros, the fill value, where none was written), in this thread's
        chunk buffer (whole chunks don't need it meanwhile)."""
        chunk = scratch(self.chunks, self.dtype)
        self._slots.read(index, chunk)
        return chunk

    def _decoded(self, index):
        try:
            with open(self._path(index), "rb") as f:
                return self._decode(f.read())
        except FileNotFoundError:
            return np.zeros(self.chunks, self.dtype)

    def _shared(self, index, dst, src, valid):
        """Merge a block's part of a chunk other blocks share; hand the chunk on once this run wrote it all.
        Its slot keeps what it held: the ZIP member is durable only at the next sync."""
        with self._locks[hash(index) % LOCKS]:
            if self.sink is None:
                chunk = self._decoded(index)
                chunk[dst] = src
                self._store(index, chunk)
                return
            chunk = self._stored(index)
            chunk[dst] = src
            filled = self._filled.get(index, 0) + src.size
            if filled < prod(valid):
                self._filled[index] = filled
                self._slots.write(index, chunk)
            else:
                self._filled.pop(index, None)
                self.sink(self._key(index), self._encode(chunk))

    def _key(self, index):
        return self.prefix + "/".join(str(i) for i in index)

    def finish(self, sent):
        """Hand the chunks still only in their slots (not among `sent`, the keys the sink holds) to the sink:
        those whose other part a run before a crash wrote. Closes the slots' file."""
        for index in self._slots.written():
            if self._key(index) not in sent:
                self.sink(self._key(index), self._encode(self._stored(index)))
        self._slots.close()

    def close(self):
        self._slots.close()

    def write(self, start, data):
        """Write `data` (as many dimensions as the array) with its first voxel at `start`."""
        start = tuple(int(s) for s in start)
        stop = tuple(s + n for s, n in zip(start, data.shape))
        if any(s < 0 for s in start) or any(e > n for e, n in zip(stop, self.shape)):
            raise ValueError(f"region {start}..{stop} does not fit the array {self.shape}")
        if data.size == 0:
            return
        ranges = [range(s // c, -(-e // c)) for s, e, c in zip(start, stop, self.chunks)]
        for index in product(*ranges):
            lo = tuple(i * c for i, c in zip(index, self.chunks))
            valid = tuple(min(c, n - o) for c, n, o in zip(self.chunks, self.shape, lo))  # inside the array
            a = tuple(max(s, o) for s, o in zip(start, lo))  # the overlap, in array coordinates
            b = tuple(min(e, o + v) for e, o, v in zip(stop, lo, valid))
            src = data[tuple(slice(x - s, y - s) for x, y, s in zip(a, b, start))]
            dst = tuple(slice(x - o, y - o) for x, y, o in zip(a, b, lo))
            whole = all(x == o and y == o + v for x, y, o, v in zip(a, b, lo, valid))
            if whole and src.shape == self.chunks and src.flags.c_contiguous:
                self._whole(index, src)  # laid out as stored already (a band of level 1, every_other): no copy
            elif whole:  # encoded (or written) before _whole returns: the thread's buffer serves the next one
                chunk = scratch(self.chunks, self.dtype)
                if valid != self.chunks:
                    chunk.fill(0)
                chunk[dst] = src
                self._whole(index, chunk)
            else:
                self._shared(index, dst, src, valid)


def every_other(data, start, factors):
    """The voxels of `data` (its first at `start`) whose coordinates are multiples of `factors`, and where
    they go at the coarser level: (start there, array). Nearest-voxel decimation: label ids stay ids.

    The array may be this thread's scratch buffer for level 1, valid until the thread's next call: a
    fresh 4-8 MB array per block was memory mapped and faulted in anew each time (~0.06 CPU s per GB of
    blocks, bench.cutout_bench)."""
    firsts = [-(-s // f) * f for s, f in zip(start, factors)]
    at = tuple(first // f for first, f in zip(firsts, factors))
    offsets = [first - s for first, s in zip(firsts, start)]
    rows = data[tuple(slice(o, None, f) for o, f in zip(offsets[:-1], factors[:-1]))]
    view = rows[..., offsets[-1]::factors[-1]]
    n = rows.shape[-1] - offsets[-1]
    wide = {1: np.uint16, 2: np.uint32, 4: np.uint64}.get(data.dtype.itemsize)
    if (factors[-1] != 2 or wide is None or n < 2 or data.dtype.kind != "u" or not data.dtype.isnative
            or sys.byteorder != "little" or rows.strides[-1] != data.dtype.itemsize):
        return at, view
    # Every 2nd voxel of a row is the low half of each voxel pair read as one number twice as wide: one
    # vectorised cast instead of a strided copy (5 times faster for uint8).
    out = scratch(view.shape, data.dtype, use="level 1")
    pairs = rows[..., offsets[-1]:offsets[-1] + n - n % 2].view(wide)
    np.copyto(out[..., :n // 2], pairs, casting="unsafe")  # truncation keeps the low (first) voxel
    if n % 2:
        out[..., -1] = rows[..., -1]
    return at, out
