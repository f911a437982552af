"""Blocks narrower than the TIFF written as whole rows: a band's blocks gathered, then written together.

A box wider than its blocks ("part rows", cutouts.pipeline.plan) was written one row of one block at a time:
a kernel buffered write per row piece, 65 % of a worker's CPU on the wide-box proxy. Blocks side by side
across the box (a band: the same t, c, z and y) together hold every row of the band whole. So a block whose
band is not whole yet is kept (cutouts.pipeline.fetch.hold: its buffer stays with it) until the blocks
beside it come, and the band's rows then go out plane by plane, gathered from the blocks into one buffer
and written in one piece: with O_DIRECT where the rows and the file allow it, as whole-row blocks are written.

At most KEPT_AT_ONCE blocks are kept, so that the readers keep a buffer to decode the blocks a kept one
waits for: a band whose block can't be kept is written row by row, the block kept for it included. A file
resumed from an earlier run is written row by row (its bands may lack the blocks done before).
"""
import threading

from cutouts.pipeline.fetch import hold
from cutouts.pipeline.writers.base import scratch

# The rows of a band are gathered into one buffer and written in one piece (4 MiB: a plane of a band 512 rows
# high and 8,192 uint8 voxels wide at once), not as one pwritev of the blocks' row pieces: a plane of 1,024
# pieces of 2 KiB cost 0.7 ms of Python to slice and hand over, and the kernel pinned each piece for O_DIRECT
# on its own; the copy into the buffer takes 0.05-0.15 ms.
GATHER_BYTES = 4 * 1024 * 1024


class Bands:
    """The bands of one VolumeTiff that have blocks kept; thread-safe."""

    def __init__(self, tiff):
        self.tiff = tiff
        self.lock = threading.Lock()
        self.open = {}  # (t, c, z0, bz, y0, by) -> {"kept": {x0: (data, release)}, "width": written row by row}

    def put(self, data, t, c, z0, y0, x0):
        """Take a block narrower than the file: True when it is kept or written with its band; False when the
        caller writes it row by row (VolumeTiff._write_rows), as its band's blocks are then."""
        bz, by, bx = data.shape
        key, x_n = (t, c, z0, bz, y0, by), self.tiff.zyx[2]
        with self.lock:
            band = self.open.setdefault(key, {"kept": {}, "width": 0})
            width = bx + band["width"] + sum(d.shape[2] for d, _ in band["kept"].values())
            if band["width"] == 0 and width == x_n:  # the band is whole: written now, its kept blocks let go
                del self.open[key]
                parts = sorted([*band["kept"].items(), (x0, (data, None))], key=lambda p: p[0])
            else:
                release = hold() if band["width"] == 0 else None
                if release is not None:
                    band["kept"][x0] = (data, release)
                    return True
                spill, band["kept"] = band["kept"], {}  # row by row from now on, the kept blocks too
                band["width"] = width
                if width == x_n:
                    del self.open[key]
                parts = None
        if parts is None:
            for x, (kept, release) in sorted(spill.items()):
                self.tiff._write_rows(kept, t, c, z0, y0, x)
                release()
            return False
        self._write(parts, t, c, z0, y0)
        for _, (_, release) in parts:
            if release is not None:
                release()
        return True

    def _write(self, parts, t, c, z0, y0):
        """The band's rows (`parts`: [(x0, (block, release))] in x order), gathered plane by plane into a buffer
        this thread keeps (GATHER_BYTES at most at once) and each written in one piece."""
        tiff = self.tiff
        x_n, dtype = tiff.zyx[2], tiff.dtype
        bz, by = parts[0][1][0].shape[:2]
        row = x_n * dtype.itemsize
        rows_at_once = max(1, min(by, GATHER_BYTES // row))
        buffered = 0
        for dz in range(bz):
            start = tiff._plane_offset(t, c, z0 + dz) + y0 * row
            for r0 in range(0, by, rows_at_once):
                r1 = min(by, r0 + rows_at_once)
                rows = scratch((r1 - r0, x_n), dtype, use="band")
                for x0, (data, _) in parts:
                    rows[:, x0:x0 + data.shape[2]] = data[dz, r0:r1]
                buffered += tiff._put(rows, start + r0 * row)
        if buffered:
            tiff._writeback.count(buffered)
