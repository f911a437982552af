"""Compressed TIFFs (zstd or deflate), written block by block as blocks arrive, memory bounded by a block.

A compressed TIFF's image is a list of segments (strips of whole rows, or tiles), each compressed on its
own and placed anywhere in the file, found through the offsets in its page's IFD. So each block, as it
arrives in a fetch thread, is cut into the segments it holds, each compressed there (imagecodecs releases
the GIL: the fetch threads compress in parallel) and appended to a staging file with its place recorded.
At the end tifffile writes the real file, its metadata as the uncompressed writer's (tiff.tiff_options),
from the staged segments in order: one more pass over the compressed bytes only (1/9 of a demo cutout).

Segments must not straddle blocks: blocks are cut on BOSS's 512-voxel grid counted from 0, the file's
segments from the box's first voxel. Whole-row blocks become strips of the rows' greatest common step;
narrower blocks (a wide box) become tiles, which TIFF wants in multiples of 16, so such a box must start on
a multiple of 16 in x and y (`segment_shape` says why not). ImageJ's own TIFF opener reads strips and
deflate only: ImageJ files take deflate, as strips.
"""
import os
import threading
from math import gcd

import imagecodecs
import numpy as np
import tifffile
import zstandard
from isal import isal_zlib

from cutouts.pipeline.writers.base import TIFF_COMPRESSIONS, WriterError, scratch
from cutouts.pipeline.writers.tiff import VolumeTiff, tiff_options

# Fast levels: compression runs in the fetch threads, beside BOSS's answers (bench/cutout_bench.py
# --compression measures the throughput against uncompressed and the size ratio per channel). zstd level 2,
# not 3: on rows stored as differences (uses_predictor) of noisy images, as real EM and fluorescence are, it
# packs as well or better and runs 1.1-4 times as fast (8-bit EM-like images with Gaussian or Poisson noise
# 490-820 against 400-560 MB/s a thread; with the gaps of a stretched histogram 455-650 against 105-150 MB/s;
# 16-bit fluorescence-like images 190-850 against 150-220 MB/s, 0-9 % more bytes). Only devboss's smooth EM,
# in strips, packs tighter at level 3 (0.009 against 0.04 of its bytes: level 3 finds the rows it repeats).
ZSTD_LEVEL = 2


# deflate from ISA-L (python-isal), level 1: a zlib stream as libtiff, Bio-Formats and ImageJ's own opener
# (java.util.zip) inflate. Against libdeflate level 1, the fastest level of the library before, one thread
# (bench.compression_bench; rows stored as differences): the demo EM 2.0 GB/s against 0.45 and 0.048 of its
# bytes against 0.067, EM with Gaussian or Poisson noise 0.33-0.37 against 0.11-0.12 GB/s for the same size,
# 16-bit Poisson counts near 2,000 0.25 against 0.13 GB/s for 5 % more bytes. It releases the GIL.
DEFLATE_LEVEL = 1


_local = threading.local()


def _zstd(data):
    """zstd with a compressor this thread keeps (python-zstandard; it releases the GIL): imagecodecs' zstd_encode
    makes a new context, tables and all, for every segment, memory this process maps and faults in afresh
    (cutouts/pipeline/memory.py). One thread at level 2, rows as differences, the same bytes: devboss's cortex
    EM 1.32 against 1.00 GB/s, the large EM 0.57 against 0.54, EM with noise 0.54-0.63 against 0.41-0.50, 16-bit
    Poisson counts 0.15-0.52 against 0.15-0.47."""
    compressor = getattr(_local, "zstd", None)
    if compressor is None:
        compressor = _local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor.compress(data)


def _deflate(data):
    return isal_zlib.compress(data, DEFLATE_LEVEL)


CODECS = {
    "zstd": ("zstd", _zstd),
    "deflate": ("adobe_deflate", _deflate),
}


def uses_predictor(flavour, dtype):
    """Whether a compressed TIFF stores each row as differences from the voxel to its left (TIFF's horizontal
    predictor, Predictor 2, which tifffile, Bio-Formats (Fiji's File > Import), libtiff and GDAL undo).

    For 8- and 16-bit voxels. Neighbouring voxels are alike, so the differences pack better: 8-bit EM-like
    images with Poisson noise 0.86 -> 0.74 of their bytes with zstd and 0.85 -> 0.74 with deflate, with
    heavier noise 0.90 -> 0.87; devboss's smooth EM 0.055 -> 0.010. 16-bit fluorescence-like images (Poisson
    counts on a smooth field, 512 x 512 tiles; zstd level 2 against plain rows at level 3, the rule before):
    0.69 instead of 0.84 of their bytes at 1.4 times the speed with bright counts (~20,000), 0.63
    instead of 0.62 at 2.9 times the speed at ~2,000, 1-7 % more bytes at 20-200 counts; devboss's fluo 0.004
    instead of 0.686 (bench.compression_bench). Not uint64 labels, which pack to almost nothing anyway. Never in
    ImageJ-flavoured files, which Fiji's own opener reads."""
    dtype = np.dtype(dtype)
    return flavour != "imagej" and dtype.kind in "ui" and dtype.itemsize <= 2


def encoder(compression, predictor):
    """The function that compresses one segment (a 2-D array) as the file stores it.

    The differences go into a buffer the thread keeps (chunks.scratch): a strip of a 4,096-wide box is 2 MiB,
    which a new array maps afresh and faults in page by page (cutouts/pipeline/memory.py), 0.7 CPU s per GB
    against 0.08 into the kept buffer."""
    encode = CODECS[compression][1]
    if not predictor:
        return encode

    def differences(data):
        out = scratch(data.shape, data.dtype, use="differences")
        return encode(imagecodecs.delta_encode(data, axis=-1, out=out))
    return differences


def contiguous(piece):
    """`piece` itself when it is C-contiguous, else a copy in a buffer this thread keeps (chunks.scratch): a
    tile, or a strip narrower than its block, copied into a new array of 2 MiB or more is mapped and faulted
    in afresh (cutouts/pipeline/memory.py). uint64 labels in 512 x 512 tiles (2 MiB each) went into a TIFF ZIP
    with zstd at 1.3 GB/s a thread, with 515 page faults a tile; from the kept buffer at 3.4 GB/s."""
    if piece.flags.c_contiguous:
        return piece
    out = scratch(piece.shape, piece.dtype, use="piece")
    np.copyto(out, piece)
    return out


def _edges_gcd(starts, base):
    step = base
    for s in starts:
        step = gcd(step, s)
    return step


def segment_shape(zyx, blocks_yx, flavour="ome", instead="choose compression none, or choose ome-zarr"):
    """(rows, columns) of the file's segments for blocks at `blocks_yx` [(y0, by, x0, bx)] relative to the
    box: columns == the box's width means strips. Raises WriterError when no segment fits every block, saying
    what to do `instead` besides moving the box (the command line has no ome-zarr)."""
    _, y_n, x_n = zyx
    rows = _edges_gcd([b[0] for b in blocks_yx if b[0]], max(b[1] for b in blocks_yx))
    if all(b[3] == x_n for b in blocks_yx):
        return rows, x_n
    cols = _edges_gcd([b[2] for b in blocks_yx if b[2]], max(b[3] for b in blocks_yx))
    while rows > 512 and rows % 32 == 0:  # tiles of at most 512, still dividing every edge
        rows //= 2
    while cols > 512 and cols % 32 == 0:
        cols //= 2
    if flavour == "imagej" or rows % 16 or cols % 16:
        raise WriterError("a compressed TIFF this wide is written in tiles, which need the box to start on a "
                          f"multiple of 16 in x and y (and ImageJ's opener reads no tiles): move the box's start, "
                          f"{instead}")
    return rows, cols


class CompressedTiff(VolumeTiff):
    """VolumeTiff's interface (a context manager; write_block from any thread), compressed. No resume: a
    job or run that stops short fetches this file's blocks again (`resumed` stays False)."""

    def __init__(self, path, zyx, dtype, calibration, compression, segment, **options):
        options.pop("resume", None)
        super().__init__(path, zyx, dtype, calibration, **options)
        if compression not in CODECS:
            raise WriterError(f"unknown compression {compression!r}; choose one of {', '.join(TIFF_COMPRESSIONS)}")
        if self.flavour == "imagej" and compression != "deflate":
            compression = "deflate"  # what ImageJ's own opener reads
        self.compression = compression
        self.predictor = uses_predictor(self.flavour, self.dtype)
        self.rows, self.cols = segment
        self.staging = self.path + ".segments"
        self.index = {}  # (page, segment) -> (offset, length) in the staging file
        self._end = 0
        self._seg_fd = None
        self._seg_lock = threading.Lock()

    @property
    def strips(self):
        return self.cols == self.zyx[2]

    def open(self):
        try:
            self._seg_fd = os.open(self.staging, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise WriterError(f"could not create the TIFF: {exc.strerror or exc}") from exc
        return self

    def _segments_per_page(self):
        _, y_n, x_n = self.zyx
        return -(-y_n // self.rows) * (1 if self.strips else -(-x_n // self.cols))

    def write_block(self, data, z0, y0, x0, t=0, c=0):
        data = np.asarray(data, dtype=self.dtype)
        bz, by, bx = data.shape
        z_n, y_n, x_n = self.zyx
        if z0 < 0 or y0 < 0 or x0 < 0 or z0 + bz > z_n or y0 + by > y_n or x0 + bx > x_n:
            raise WriterError(f"block {data.shape} at z={z0} y={y0} x={x0} does not fit the volume {self.zyx}")
        if y0 % self.rows or (not self.strips and x0 % self.cols):
            raise WriterError(f"block at y={y0} x={x0} is off the file's {self.rows}x{self.cols} segments")
        encode = encoder(self.compression, self.predictor)
        across = 1 if self.strips else -(-x_n // self.cols)
        for dz in range(bz):
            page = (t * self.channels + c) * z_n + z0 + dz
            for r in range(0, by, self.rows):
                for q in range(0, bx, self.cols):
                    piece = data[dz, r:r + self.rows, q:q + self.cols]
                    if not self.strips and piece.shape != (self.rows, self.cols):  # edge tiles are padded
                        piece = np.pad(piece, ((0, self.rows - piece.shape[0]), (0, self.cols - piece.shape[1])))
                    self._append((page, (y0 + r) // self.rows * across + (x0 + q) // self.cols),
                                 encode(contiguous(piece)))

    def _append(self, key, encoded):
        with self._seg_lock:
            offset, self._end = self._end, self._end + len(encoded)
            self.index[key] = (offset, len(encoded))
        try:
            os.pwrite(self._seg_fd, encoded, offset)
        except OSError as exc:
            raise WriterError(f"writing the TIFF failed: {exc.strerror or exc}") from exc

    def _segments(self):
        pages = int(np.prod(self.shape[:-2])) if len(self.shape) > 2 else 1
        for page in range(pages):
            for seg in range(self._segments_per_page()):
                offset, length = self.index[(page, seg)]
                yield os.pread(self._seg_fd, length, offset)

    def flush(self):
        """Nothing to make durable: a compressed file is never resumed (its blocks are fetched again)."""

    def close_partial(self):
        self._discard()

    def _discard(self):
        if self._seg_fd is not None:
            os.close(self._seg_fd)
            self._seg_fd = None
        for name in (self.staging, self.tmp_path):
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass

    def commit(self):
        options = tiff_options(self.shape, self.axes, self.dtype, self.flavour, self.calibration,
                               self.channel_names)
        layout = {"rowsperstrip": self.rows} if self.strips else {"tile": (self.rows, self.cols)}
        try:
            if len(self.index) != self._segments_per_page() * (int(np.prod(self.shape[:-2])) or 1):
                raise WriterError("the TIFF is missing blocks")
            tifffile.imwrite(self.tmp_path, data=self._segments(), compression=CODECS[self.compression][0],
                             predictor=self.predictor, **layout, **options)
            with open(self.tmp_path, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.tmp_path, self.path)
        except OSError as err:
            raise WriterError(f"finishing the TIFF failed: {err.strerror or err}") from err
        finally:
            self._discard()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._discard()
            return False
        self.commit()
        return False
