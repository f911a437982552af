"""Write calibrated TIFFs block by block, with memory bounded by one block.

The file is created empty at its final size (tifffile writes the header and leaves the contiguous image
data sparse), then each block fetched from BOSS goes straight to its place with os.pwrite. Nothing holds
the whole cutout in memory. The file is written under a temporary name and renamed only when complete,
so a half-written file is never where a finished one is expected.

Calibration rules (one place, `bossdb.geometry.calibration()`): the voxel size at level r is the frame's voxel size with
x and y multiplied by 2**r, and z too when the hierarchy is isotropic (bossdb.geometry.calibration).

Flavours:
- ``ome``: OME-TIFF; OME-XML carries PhysicalSizeX/Y/Z and units (Fiji via Bio-Formats, napari, QuPath),
  and the XResolution/YResolution tags carry x/y in pixels per centimetre for plain TIFF readers.
  OME has no uint64 pixel type, so uint64 (annotation) data falls back to ``tiff``.
- ``imagej``: an ImageJ hyperstack (uint8/uint16 only): `spacing` and `unit` in the description and the
  resolution tags, which is what Fiji's own TIFF opener reads.
- ``tiff``: a plain (Big)TIFF with tifffile's JSON description holding shape, axes and the voxel size.
Values are written as fetched, never rescaled.
"""
import os
import threading
from math import prod

import numpy as np
import tifffile

from cutouts.pipeline.writers.bands import Bands
from cutouts.pipeline.writers.base import DIRECT_ALIGN, WriterError, effective_flavour, write_all, write_direct

IMAGEJ_UNITS = {"nanometers": "nm", "micrometers": "micron", "millimeters": "mm", "centimeters": "cm"}
UNIT_IN_CM = {"nanometers": 1e-7, "micrometers": 1e-4, "millimeters": 1e-1, "centimeters": 1.0}
BIGTIFF_ABOVE = 2**32 - 2**25  # classic TIFF offsets are 32-bit: leave room for the header and IFDs

FLAVOURS = ("ome", "imagej", "tiff")
# Write dirty pages back every this many bytes, in a background thread, so that the final fsync (before
# the file is renamed into place) waits for the tail only, not for the whole file; then drop the pages
# written back from the page cache ("drop-behind"). The job's page cache then stays near this size, not
# the size of the file: a 1 GB cutout neither evicts the machine's useful cache nor needs 1 GB of fresh
# memory, and the writer recycles the pages it just freed, which is 3× faster where fresh memory is dear
# (a VM whose balloon takes freed memory back; measured in bench/cutout_bench.py).
SYNC_EVERY = 64 * 1024 * 1024
# Planes whose offset, length and memory are multiples of DIRECT_ALIGN (base.py, 4 KiB) are written with
# O_DIRECT: from the fetch buffer to the disk, no copy into the page cache, no write-back or page dropping
# afterwards (1 GB: 0.07 CPU s against 0.4 CPU s plus the kernel's write-back threads, bench/cutout_bench.py).
# The image data starts on such a boundary, so whole-row blocks of rows of a multiple of 8 bytes qualify (a
# block is 512 rows); everything else goes through the page cache with drop-behind.
# CUTOUT_DIRECT_WRITES=0 (the worker's and boss-cutout's environment) sends every result through the page cache
# instead, with the drop-behind above, for a disk slower than BOSS's answers arrive: the kernel then orders and
# merges the writes of several blocks. On a disk that wrote 0.4-0.6 GB/s (2026-12-07), OME-TIFF jobs took
# 2.95-3.31 s per GB against 3.27-3.69 s, for 0.3-0.4 CPU s more; where the disk keeps up, O_DIRECT wins.
DIRECT_WRITES = os.environ.get("CUTOUT_DIRECT_WRITES", "1").strip().lower() not in ("0", "false", "no", "off")


def write_back_and_drop(fd):
    """fdatasync `fd`, then drop its clean pages from the page cache (run in a background thread)."""
    try:
        os.fdatasync(fd)
        # DONTNEED drops the clean pages only: blocks written since the fdatasync stay, for the next round.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:  # the final fsync reports real trouble
        pass


def advise_dontneed(fd, ranges):
    """POSIX_FADV_DONTNEED on each (offset, length): starts writing back the dirty pages within, drops the
    clean ones, and keeps a page a range covers in part (rows beside the range may share it)."""
    try:
        for offset, length in ranges:
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except OSError:  # the final fsync reports real trouble
        pass


class WriteBack:
    """A background write-back and drop-behind (write_back_and_drop) of descriptor `fd` every SYNC_EVERY
    bytes written through the page cache. Thread-safe; join() before the descriptor is closed.

    Writes of part rows (blocks narrower than the file) are not counted: a page of theirs is shared with the
    blocks beside them in x, and dropped before those are written it would be read back from the disk
    first. They report the ranges they complete instead (filled())."""

    def __init__(self, fd):
        self.fd = fd
        self._dirty = 0  # bytes written since the last background write-back started
        self._filled = []  # the last ranges filled(), each dropped two calls later
        self._thread = None
        self._lock = threading.Lock()

    def count(self, nbytes):
        with self._lock:
            self._dirty += nbytes
            if self._dirty >= SYNC_EVERY and (self._thread is None or not self._thread.is_alive()):
                self._dirty = 0
                self._thread = threading.Thread(target=write_back_and_drop, args=(self.fd,), daemon=True)
                self._thread.start()

    def filled(self, ranges):
        """`ranges` [(offset, length)] are complete: their write-back starts now, and two calls later, written
        back by then, they leave the page cache (a page still being written stays until the final fsync)."""
        with self._lock:
            self._filled.append(ranges)
            old = self._filled.pop(0) if len(self._filled) > 2 else []
        advise_dontneed(self.fd, ranges)
        advise_dontneed(self.fd, old)

    def join(self):
        """Wait for the write-back in progress: it must not outlive the descriptor."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def open_direct(path):
    """A descriptor of `path` for O_DIRECT writes, or None where the file system has none (tmpfs) or
    CUTOUT_DIRECT_WRITES=0 turned them off."""
    if not DIRECT_WRITES:
        return None
    try:
        return os.open(path, os.O_WRONLY | getattr(os, "O_DIRECT", 0)) if hasattr(os, "O_DIRECT") else None
    except OSError:
        return None


def tiff_options(shape, axes, dtype, flavour, cal, channel_names):
    """tifffile.imwrite's keywords for a calibrated file of this flavour (also the compressed writer's)."""
    nbytes = prod(shape) * np.dtype(dtype).itemsize
    per_cm = (1.0 / (cal.x * UNIT_IN_CM[cal.unit]), 1.0 / (cal.y * UNIT_IN_CM[cal.unit]))
    common = {"shape": shape, "dtype": dtype, "photometric": "minisblack", "bigtiff": nbytes > BIGTIFF_ABOVE}
    if flavour == "ome":
        metadata = {
            "axes": axes,
            "PhysicalSizeX": cal.x, "PhysicalSizeXUnit": cal.symbol,
            "PhysicalSizeY": cal.y, "PhysicalSizeYUnit": cal.symbol,
            "PhysicalSizeZ": cal.z, "PhysicalSizeZUnit": cal.symbol,
        }
        if "C" in axes and channel_names:
            metadata["Channel"] = {"Name": list(channel_names)}
        return {"ome": True, "metadata": metadata, "resolution": per_cm, "resolutionunit": "CENTIMETER", **common}
    if flavour == "imagej":
        # ImageJ's pixel width is 1/XResolution in `unit`; ImageJ hyperstacks order axes TZCYX.
        return {"imagej": True, "resolution": (1.0 / cal.x, 1.0 / cal.y),
                "metadata": {"axes": axes, "spacing": cal.z, "unit": IMAGEJ_UNITS[cal.unit]}, **common}
    metadata = {"axes": axes, "voxel_size": [cal.x, cal.y, cal.z], "unit": cal.unit}
    if channel_names:
        metadata["channels"] = list(channel_names)
    return {"metadata": metadata, "resolution": per_cm, "resolutionunit": "CENTIMETER", **common}


_layouts = {}  # by tiff_options' arguments: the layout of every ImageJ and plain TIFF made in this process


def layout(path, shape, axes, dtype, flavour, cal, channel_names):
    """Create the empty contiguous TIFF at `path`: (data offset, size, the bytes before the data, those after).
    The slices of a TIFF stack share one layout, made by tifffile once and written as bytes after that (each
    slice took 1 ms to make and read back: 16 ms a slab); never an OME-TIFF's, named by a UUID of its own."""
    key = (tuple(shape), axes, np.dtype(dtype).str, flavour, cal, tuple(channel_names))
    known = _layouts.get(key) if flavour != "ome" else None
    if known is None:
        tifffile.imwrite(path, align=DIRECT_ALIGN, **tiff_options(shape, axes, dtype, flavour, cal, channel_names))
        with tifffile.TiffFile(path) as tif:
            offset = tif.series[0].dataoffset
        if offset is None:  # pragma: no cover - tifffile always writes shape-only images contiguously
            raise WriterError("the TIFF writer did not lay the image out contiguously")
        with open(path, "rb") as f:
            head = f.read(offset)
            f.seek(offset + prod(shape) * np.dtype(dtype).itemsize)
            known = (offset, os.fstat(f.fileno()).st_size, head, f.read())
        if flavour != "ome" and len(_layouts) < 64:
            _layouts[key] = known
        return known
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        put_layout(fd, known)
    finally:
        os.close(fd)
    return known


def put_layout(fd, known, base=0):
    """A layout's header and directories into `fd`, the TIFF at `base`, the file at least as long as it."""
    _, size, head, tail = known
    write_all(fd, [head], base)
    write_all(fd, [tail], base + size - len(tail))
    os.ftruncate(fd, max(os.fstat(fd).st_size, base + size))


class VolumeTiff:
    """A TIFF of shape (T, C, Z, Y, X) (leading axes of size 1 dropped as asked), filled block by block.

    Use as a context manager: on a clean exit the temporary file is renamed to `path`; on an error it is
    removed, so nothing half-written remains.
    """

    def __init__(self, path, zyx, dtype, calibration, flavour="ome", channels=1, times=1, channel_names=(),
                 resume=False, plane=False):
        if flavour not in FLAVOURS:
            raise WriterError(f"unknown TIFF flavour {flavour!r}")
        self.path = os.fspath(path)
        self.tmp_path = self.path + ".part"
        self.dtype = np.dtype(dtype)
        self.flavour = effective_flavour(flavour, self.dtype)
        self.zyx = tuple(int(v) for v in zyx)
        self.channels, self.times = channels, times
        shape, axes = self.zyx, "ZYX"
        if plane:  # one 2-D image (a slice of a TIFF stack): no Z axis in the file's metadata
            if self.zyx[0] != 1 or channels > 1 or times > 1:
                raise WriterError(f"a plane holds one slice, not {self.zyx}")
            shape, axes = self.zyx[1:], "YX"
        if channels > 1:
            shape, axes = (channels, *shape), "C" + axes
        if times > 1:
            shape, axes = (times, *shape), "T" + axes
        if self.flavour == "imagej" and channels > 1:
            # ImageJ hyperstacks are TZCYX while this file is TCZYX: one channel per ImageJ file.
            raise WriterError("an ImageJ TIFF holds one channel: choose a zip of one TIFF per channel")
        self.shape, self.axes = shape, axes
        self.calibration = calibration
        self.channel_names = channel_names
        # resume=True (the command line): reopen an existing temporary file instead of recreating it, and
        # keep it on an error, so that an interrupted download continues where it stopped.
        self.resume = resume
        self.resumed = False  # True when open() found a usable temporary file from an earlier run
        self._fd = None
        self._direct = None  # a second descriptor opened with O_DIRECT, where the file system allows it
        self._refused = None  # that descriptor once its writes were refused: closed with the file
        self._writeback = None  # the WriteBack of _fd
        self._gather = None  # the Bands of blocks narrower than the file, once open (writers/bands.py)
        self._bands = {}  # rows written by part-row blocks: (t, c, z0, bz, y0, by) -> {x0: bx}
        self._bands_lock = threading.Lock()

    def _existing_offset(self, base=0):
        """The image data offset of a temporary file left by an earlier run, or None if it is unusable; `base`:
        where the TIFF starts in the file (its own offsets count from there)."""
        try:
            with tifffile.TiffFile(tifffile.FileHandle(self.tmp_path, offset=base)) as tif:
                series = tif.series[0]
                offset = series.dataoffset
                fits = (series.dtype == self.dtype and prod(series.shape) == prod(self.shape)
                        and offset is not None and os.path.getsize(self.tmp_path) >= base + offset + series.nbytes)
        except Exception:  # a header cut short or garbage: start this file again
            return None
        return base + offset if fits else None

    def _make(self):
        """Create the empty file at tmp_path; the offset of its image data."""
        return layout(self.tmp_path, self.shape, self.axes, self.dtype, self.flavour, self.calibration,
                      self.channel_names)[0]

    def open(self):
        """Create the empty file (or reopen the earlier run's, with resume=True) and return self."""
        try:
            offset = self._existing_offset() if self.resume and os.path.exists(self.tmp_path) else None
            self.resumed = offset is not None
            if offset is None:
                offset = self._make()
            self.offset = offset
            self._fd = os.open(self.tmp_path, os.O_WRONLY)
            self._writeback = WriteBack(self._fd)
            # No fsync of the new header here: flush() (the command line) and the job's record (engine) sync
            # the file, header included, before any of its blocks counts as written.
            self._direct = open_direct(self.tmp_path) if offset % DIRECT_ALIGN == 0 else None
            self._gather = None if self.resumed else Bands(self)
        except OSError as exc:
            self._discard()
            raise WriterError(f"could not create the TIFF: {exc.strerror or exc}") from exc
        return self

    def __enter__(self):
        return self.open()

    def _plane_offset(self, t, c, z):
        _, y_n, x_n = self.zyx
        index = ((t * self.channels + c) * self.zyx[0] + z) * y_n * x_n
        return self.offset + index * self.dtype.itemsize

    def write_block(self, data, z0, y0, x0, t=0, c=0):
        """Put a (Z, Y, X) block whose first voxel is at (z0, y0, x0) of the file's volume."""
        data = np.ascontiguousarray(data, dtype=self.dtype)
        bz, by, bx = data.shape
        z_n, y_n, x_n = self.zyx
        if z0 < 0 or y0 < 0 or x0 < 0 or z0 + bz > z_n or y0 + by > y_n or x0 + bx > x_n:
            raise WriterError(f"block {data.shape} at z={z0} y={y0} x={x0} does not fit the volume {self.zyx}")
        item = self.dtype.itemsize
        buffered = 0
        try:
            if bx != x_n:  # part rows: with the blocks beside it (writers/bands.py), else row by row
                if self._gather is None or not self._gather.put(data, t, c, z0, y0, x0):
                    self._write_rows(data, t, c, z0, y0, x0)
                return
            for dz in range(bz):  # whole rows: one contiguous write per plane, no copy
                buffered += self._put(data[dz], self._plane_offset(t, c, z0 + dz) + y0 * x_n * item)
        except OSError as exc:
            raise WriterError(f"writing the TIFF failed: {exc.strerror or exc}") from exc
        if buffered:
            self._writeback.count(buffered)

    def _write_rows(self, data, t, c, z0, y0, x0):  # a block narrower than the file, a write per row
        (bz, by, bx), item, x_n = data.shape, self.dtype.itemsize, self.zyx[2]
        for dz in range(bz):
            rows, at = memoryview(data[dz]).cast("B"), self._plane_offset(t, c, z0 + dz) + (y0 * x_n + x0) * item
            span = bx * item
            for dy in range(by):
                os.pwrite(self._fd, rows[dy * span:(dy + 1) * span], at + dy * x_n * item)
        filled = self._rows_filled(t, c, z0, bz, y0, by, x0, bx)
        if filled:
            self._writeback.filled(filled)

    def _rows_written(self, at, rows):
        """Whole rows (`rows`, C-contiguous) are in the file at `at`: a block's plane, or a band's rows."""

    def _rows_filled(self, t, c, z0, bz, y0, by, x0, bx):
        """The ranges of the file [(offset, length)] that this part-row block completed: rows y0..y0+by of
        planes z0..z0+bz, once the blocks side by side in x across them are all written (the planner cuts
        every row of blocks at the same z and y); else []. A block written twice counts once."""
        key = (t, c, z0, bz, y0, by)
        with self._bands_lock:
            columns = self._bands.setdefault(key, {})
            columns[x0] = bx
            if sum(columns.values()) < self.zyx[2]:
                return []
            del self._bands[key]
        row = self.zyx[2] * self.dtype.itemsize
        return [(self._plane_offset(t, c, z0 + dz) + y0 * row, by * row) for dz in range(bz)]

    def _put(self, rows, at):
        """Whole rows (C-contiguous) into the file at `at`: with O_DIRECT where their offset, length and memory
        are aligned and the file system takes them, else through the page cache; the bytes that went that way
        (for the write-back) are returned."""
        fd = self._direct
        direct = fd is not None and not (at % DIRECT_ALIGN or rows.nbytes % DIRECT_ALIGN
                                         or rows.ctypes.data % DIRECT_ALIGN)
        if direct and not write_direct(fd, [rows], at):  # EINVAL: the page cache from now on; other threads
            direct, self._direct, self._refused = False, None, fd  # may still hold fd, so it stays open
        if not direct:
            write_all(self._fd, [rows], at)
        self._rows_written(at, rows)
        return 0 if direct else rows.nbytes

    def _close_fd(self):
        """Close the file, after any background write-back on it (it must not outlive the descriptor)."""
        if self._writeback is not None:
            self._writeback.join()
            self._writeback = None
        for fd in {self._direct, self._refused} - {None}:
            os.close(fd)
        self._direct = self._refused = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _discard(self):
        self._close_fd()
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def flush(self):
        """Make the blocks written so far durable (before recording them as done)."""
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise WriterError(f"writing the TIFF failed: {exc.strerror or exc}") from exc

    def close_partial(self):
        """Close without finishing, keeping the temporary file for a later run to resume."""
        self._close_fd()

    def commit(self):
        """fsync, close and rename the temporary file to its final name."""
        try:
            if self._writeback is not None:
                self._writeback.join()
            os.fsync(self._fd)
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_DONTNEED)  # drop-behind for the tail too
            self._close_fd()
            os.replace(self.tmp_path, self.path)
        except OSError as err:
            self._discard()
            raise WriterError(f"finishing the TIFF failed: {err.strerror or err}") from err

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            if self.resume:
                self.close_partial()
            else:
                self._discard()
            return False
        self.commit()
        return False
