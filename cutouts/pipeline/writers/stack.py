"""`boss-cutout`'s resumable outputs: a TIFF stack (one 2-D TIFF per z slice) or one OME-TIFF per channel.

Blocks are grouped in slabs: the blocks written into the same set of files, which are renamed into place
together once all of the slab's blocks are in (staging files end in `.part`), so a file with a final name
is always complete. Every write is fsynced (flush()) before the command line records the block in its manifest,
and an interrupted run reopens the staging files it left (VolumeTiff(resume=True)).
"""
import os
import threading
from dataclasses import dataclass

import numpy as np

from bossdb.geometry import Box
from cutouts.pipeline.plan import CUBOID, plan_blocks, span_x, whole_rows
from cutouts.pipeline.writers.base import WriterError, effective_flavour, uncompressed

FORMATS = ("tiff-stack", "ome-tiff")
WHOLE_ROWS_BYTES = 48 * 1024 * 1024  # a compressed tiff-stack's blocks: up to 3 in flight stay under 256 MB
# Uncompressed, the command line holds two blocks (its BlockReader's buffers) and nothing else of their size:
# rows up to 4 times its block budget (64 MB at the default 16: across uint8 boxes up to 8192 voxels wide,
# uint16 up to 4096) keep it near 200 MB and write each plane of a block in one piece, or each row of a wider
# box in pieces of that length.
ROW_FACTOR = 4


@dataclass
class Slab:
    """Blocks written into the same set of files, renamed into place together when all are in."""

    key: str
    t: int
    z: tuple
    blocks: list
    files: list  # final names, in z order (one per slice, or the one OME-TIFF)


@dataclass
class Plan:
    """One channel's blocks, slabs and files (`spec` is the channel's own, single-channel spec)."""

    spec: object
    box: Box
    dtype: str
    blocks: list
    slabs: list

    @property
    def nbytes(self):
        return self.box.nbytes(self.dtype)

    def files(self):
        return [name for slab in self.slabs for name in slab.files]


def slice_name(spec, z, t=None):
    channel, z_hi = spec.channels[0].name, spec.box.z[1]
    width = max(5, len(str(z_hi - 1)))
    if spec.time_range:
        return f"{channel}_t{t:0{max(3, len(str(spec.box.t[1] - 1)))}d}_z{z:0{width}d}.tif"
    return f"{channel}_z{z:0{width}d}.tif"


def make_plan(spec, block_bytes):
    """The Plan of a single-channel `spec` in its format (tiff-stack or ome-tiff)."""
    dtype = spec.channels[0].datatype
    box = spec.box
    plain = uncompressed(getattr(spec, "compression", "none"))
    if not plain and spec.format == "tiff-stack":
        # ImageJ files are compressed in strips (whole rows: what Fiji's own opener reads), so their blocks
        # must be whole rows: grow the blocks up to WHOLE_ROWS_BYTES for it (else the writer says why not),
        # and no further (up to twice that, 96 MB, took the command to 279-321 MB on uint64 labels).
        if whole_rows(box, dtype, WHOLE_ROWS_BYTES, row_factor=1):
            # A budget of one row of cuboids across the box (rounded out to the cuboid grid, as the planner
            # counts a block) makes every block whole rows.
            row = span_x(box) * CUBOID[1] * CUBOID[2]
            block_bytes = max(block_bytes, row * np.dtype(dtype).itemsize)
    # uint64 labels keep blocks of at most twice the budget: at four (64 MB, two cuboids, a box 1024 voxels
    # wide) the command reached 279 MB, at eight (a box 2048 wide, before the planner capped it) 505 MB.
    wide = plain and np.dtype(dtype).itemsize <= 2
    blocks = plan_blocks(box, dtype, block_bytes, row_factor=ROW_FACTOR if wide else 2)
    if spec.format == "ome-tiff":
        suffix = ".tif" if effective_flavour("ome", dtype) != "ome" else ".ome.tif"
        return Plan(spec, box, dtype, blocks, [Slab("all", box.t[0], box.z, blocks, [spec.stem() + suffix])])
    slabs = {}
    for b in blocks:
        key = f"t{b.t[0]}z{b.z[0]}-{b.z[1]}"
        if key not in slabs:
            slabs[key] = Slab(key, b.t[0], b.z, [], [slice_name(spec, z, b.t[0]) for z in range(*b.z)])
        slabs[key].blocks.append(b)
    return Plan(spec, box, dtype, blocks, list(slabs.values()))


def _writer(plan):
    """VolumeTiff, or a CompressedTiff maker with the plan's compression and segments (see ctiff.py)."""
    compression = getattr(plan.spec, "compression", "none")
    if uncompressed(compression):
        from cutouts.pipeline.writers.tiff import VolumeTiff

        return VolumeTiff
    from cutouts.pipeline.writers.ctiff import CompressedTiff, segment_shape

    box = plan.box
    rel = [(b.y[0] - box.y[0], b.shape_zyx[1], b.x[0] - box.x[0], b.shape_zyx[2]) for b in plan.blocks]

    def make(path, zyx, dtype, cal, flavour="ome", **options):
        segment = segment_shape(box.shape_zyx, rel, effective_flavour(flavour, dtype),
                                instead="or use --compression none")
        return CompressedTiff(path, zyx, dtype, cal, compression, segment, flavour=flavour, **options)
    return make


class SlabWriter:
    """The open files of one slab and where each block goes in them. Thread-safe (VolumeTiff is)."""

    def __init__(self, plan, slab, folder, only=None):
        self.slab = slab
        self.box = plan.box
        spec = plan.spec
        self.ome = spec.format == "ome-tiff"
        zyx = plan.box.shape_zyx
        cal = spec.calibration
        tiff = _writer(plan)
        if self.ome:
            self.files = [tiff(folder / slab.files[0], zyx, plan.dtype, cal, flavour="ome",
                               times=plan.box.time_samples, channel_names=tuple(spec.channel_names), resume=True)]
        else:
            # ImageJ spacing/unit for uint8/uint16; writers fall back to JSON metadata for uint64
            self.files = [tiff(folder / name, (1, zyx[1], zyx[2]), plan.dtype, cal, flavour="imagej",
                               plane=True, resume=True) for name in slab.files]
        if only is not None:  # just these files, to finish renames (no writes)
            self.files = [f for f in self.files if os.path.basename(f.path) in only]

    def open(self):
        """Open every file; True if all of them were resumed from an earlier run (their blocks are kept)."""
        try:
            for f in self.files:
                f.open()
        except WriterError:
            self.close()
            raise
        return all(f.resumed for f in self.files)

    def write(self, block, data):
        """Write the block into its files; flush() makes it durable."""
        y0, x0 = block.y[0] - self.box.y[0], block.x[0] - self.box.x[0]
        if self.ome:
            self.files[0].write_block(data, block.z[0] - self.box.z[0], y0, x0, t=block.t[0] - self.box.t[0])
            return
        first = block.z[0] - self.slab.z[0]
        for dz in range(data.shape[0]):
            self.files[first + dz].write_block(data[dz:dz + 1], 0, y0, x0)

    def flush(self):
        """Make every block written so far durable (fsync each file), before they are recorded as done."""
        for f in self.files:
            f.flush()

    def commit(self):
        for f in self.files:
            f.commit()

    def close(self):
        for f in self.files:
            f.close_partial()


class SlabWriters:
    """The slabs open at once, opened by the first block that needs one (from any fetch thread)."""

    def __init__(self, plan, folder, writers=None):
        self.plan, self.folder = plan, folder
        self.open = dict(writers or {})
        self.slab_of = {b.key: s for s in plan.slabs for b in s.blocks}
        self.lock = threading.Lock()

    def writer_for(self, block):
        """The open writer of the block's slab, opened (its staging files created) if it is the first."""
        slab = self.slab_of[block.key]
        with self.lock:
            writer = self.open.get(slab.key)
            if writer is None:
                writer = self.open[slab.key] = SlabWriter(self.plan, slab, self.folder)
                writer.open()
        return writer

    def write(self, block, data):
        self.writer_for(block).write(block, data)

    def flush(self, slabs):
        """flush() the open writers of `slabs` (keys): once for all the blocks they received so far."""
        with self.lock:
            writers = [self.open[key] for key in slabs if key in self.open]
        for writer in writers:
            writer.flush()

    def commit(self, slab):
        with self.lock:
            writer = self.open.pop(slab.key)
        writer.commit()

    def close(self):
        with self.lock:
            for writer in self.open.values():
                writer.close()
            self.open.clear()
