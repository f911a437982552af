"""Output formats: format name -> Format, each laying out a cutout's channels in its own files.

A Format answers the layout questions validation asks (`layout_problem`: can these channels go in one
result of this format?) and writes the result (`produce`), its blocks arriving through the fetch loop.

Web jobs offer ome-tiff, tiff-zip, imagej-tiff and ome-zarr (one file per job, or per part); `boss-cutout`
writes a TIFF stack or one OME-TIFF per channel, resumably (cutouts/pipeline/writers/stack.py).

Each format's writer module (tifffile, the compressors, zarr's) is imported when a result of it is made, not
with this package: `boss-cutout` imports stack.py, and with it this package, before its first request, and
needs none of the web formats' writers (40 ms of its start); validation, in the web processes, needs none at all
(the OME-Zarr layout questions are answered in ngff.py).
"""
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bossdb.geometry import Box
from cutouts.pipeline.fetch import Task
from cutouts.pipeline.spec import CutoutSpec
from cutouts.pipeline.writers.base import (  # noqa: F401 (WriterError re-exported)
    TIFF_COMPRESSIONS, WriterError, effective_flavour, uncompressed,
)

SIDECAR = "provenance.json"
ALL_COMPRESSIONS = ("none", "lz4", "zstd", "deflate")  # what some format takes (Format.compressions)


class ObjectIds:
    """The object ids present in the annotation channels' blocks, merged as blocks arrive (objects.csv).

    Cheap next to the fetch: np.unique over the non-zero voxels of a 64 MB block takes ~35 ms."""

    def __init__(self, channels):
        self.ids = {ch: set() for ch in channels}
        self.lock = threading.Lock()

    def add(self, channel, data):
        if channel in self.ids:
            found = np.unique(data[data != 0]).tolist()
            with self.lock:
                self.ids[channel].update(found)

    def files(self):
        """{"objects.csv": text} when the result has an annotation channel, else {}."""
        if not self.ids:
            return {}
        rows = ["channel,object_id"] + [f"{ch},{i}" for ch, ids in self.ids.items() for i in sorted(ids)]
        return {"objects.csv": "\n".join(rows) + "\n"}


@dataclass
class Production:
    """One result file to make: the spec's box (or one part of it) into `folder`.

    `fetch(tasks, write)` runs the fetch loop; `sidecar(files)` gives provenance.json's text."""

    spec: CutoutSpec
    folder: Path
    box: Box
    blocks: dict  # channel name -> [Block]
    fetch: object
    sidecar: object
    part: int = None
    ids: ObjectIds = field(default=None)
    # Resuming: the blocks an earlier run of the job finished ("channel/block key"); the writers then reopen
    # the files that run left (resume=True also keeps them when this run stops short).
    done: set = None

    @property
    def resume(self):
        return self.done is not None

    def stem(self, channel=None):
        return self.spec.stem(channel, z=self.box.z, part=self.part)

    def tasks(self, channels=None):
        """The blocks still to fetch, of `channels` (all by default)."""
        done = self.done or ()
        return [Task(i, ch, b) for i, ch in enumerate(channels or self.spec.channels) for b in self.blocks[ch.name]
                if done_key(ch.name, b) not in done]

    def finished(self, channels):
        return all(done_key(ch.name, b) in (self.done or ()) for ch in channels for b in self.blocks[ch.name])

    def forget(self, channels):
        """An earlier run's file is gone or unusable: its blocks are fetched again."""
        if self.done:
            self.done.difference_update(done_key(ch.name, b) for ch in channels for b in self.blocks[ch.name])

    def into(self, out):
        """The fetch loop's `write` for an open writer `out` (block coordinates made relative to the box)."""
        origin = (self.box.t[0], self.box.z[0], self.box.y[0], self.box.x[0])
        several = out.channels > 1

        def write(task, data):
            b = task.block
            if self.ids is not None:
                self.ids.add(task.channel.name, data)
            out.write_block(data, b.z[0] - origin[1], b.y[0] - origin[2], b.x[0] - origin[3], t=b.t[0] - origin[0],
                            c=task.index if several else 0)
        return write


def tiff_for(job, path, channel, channels=1, channel_names=(), flavour="ome", volume=None):
    """The TIFF writer of the job's compression: `volume` (uncompressed, resumable: a VolumeTiff, or a maker of
    one like it; VolumeTiff by default) or CompressedTiff."""
    spec, box, dtype = job.spec, job.box, channel.datatype
    options = {"flavour": flavour, "channels": channels, "times": box.time_samples, "channel_names": channel_names,
               "resume": job.resume}
    if uncompressed(spec.compression):
        if volume is None:
            from cutouts.pipeline.writers.tiff import VolumeTiff as volume
        return volume(path, box.shape_zyx, dtype, spec.calibration, **options)
    from cutouts.pipeline.writers.ctiff import CompressedTiff, segment_shape

    blocks = job.blocks[channel.name]  # a channel's blocks depend on its datatype
    rel = [(b.y[0] - box.y[0], b.shape_zyx[1], b.x[0] - box.x[0], b.shape_zyx[2]) for b in blocks]
    segment = segment_shape(box.shape_zyx, rel, effective_flavour(flavour, dtype))
    return CompressedTiff(path, box.shape_zyx, dtype, spec.calibration, spec.compression, segment, **options)


def writes_tiffs(fmt):
    """Whether the web format `fmt` writes TIFFs (its Format has a TIFF flavour)."""
    return bool(getattr(FORMATS.get(fmt), "flavour", None))


def block_buffers(fmt, compression, whole_rows=True):
    """How many fetched blocks a job may hold at once (cutouts.pipeline.fetch.BufferPool): three where the writer
    writes them straight from their buffers and keeps nothing of its own (an uncompressed TIFF of whole-row
    blocks), so that a request goes on while two blocks are on their way to disk (bench.cutout_bench, shared
    CPUs: c/a 0.85-0.96 against 0.83-0.88 with two, in five pairs of alternating runs; worker peak 237 MB against
    201). Two where the writer keeps encoded copies of its own (compressed TIFF segments, OME-Zarr chunks and
    level 1): a third block takes an OME-Zarr job to 254-256 MB. Two for part rows (blocks narrower than the
    box), whose writes through the page cache take longer than the fetch whatever the buffers: a third gave
    uint64 labels 1,024 wide the same time and 246-263 MB against 213-237."""
    return 3 if whole_rows and writes_tiffs(fmt) and uncompressed(compression) else 2


def compression_problem(fmt, compression, box, channels, block_bytes):
    """Why a compressed TIFF of `fmt` can't hold this box (its segments must not straddle blocks), or None:
    asked at submit, so the job never fails on it."""
    if uncompressed(compression) or not writes_tiffs(fmt):
        return None
    from cutouts.pipeline.plan import plan_blocks
    from cutouts.pipeline.writers.ctiff import segment_shape

    one = Box(box.x, box.y, box.z, (0, 1))
    for channel in channels:
        rel = [(b.y[0] - one.y[0], b.shape_zyx[1], b.x[0] - one.x[0], b.shape_zyx[2])
               for b in plan_blocks(one, channel.datatype, block_bytes)]
        try:
            segment_shape(one.shape_zyx, rel, effective_flavour(FORMATS[fmt].flavour, channel.datatype))
        except WriterError as exc:
            return str(exc)
    return None


def done_key(channel, block):
    return f"{channel}/{block.key}"


class Format:
    name = ""
    label = ""
    carries_objects = False  # an objects.csv of the annotation channels' ids goes into the result
    # Compressed TIFFs: zstd (fast, small; tifffile, Bio-Formats) or deflate (also Fiji's own opener). Not the
    # default: an uncompressed TIFF is memory-mappable and a job waiting for a login resumes it.
    compressions = TIFF_COMPRESSIONS
    default_compression = "none"

    @staticmethod
    def layout_problem(channels):
        """Why `channels` ([ChannelSpec]) can't be one result of this format, or None."""
        return None

    def produce(self, job: Production):
        """Write the result into job.folder; returns (file name, provenance.json text)."""
        raise NotImplementedError


class OmeTiff(Format):
    name = "ome-tiff"
    label = "OME-TIFF (one file; several channels become one multi-channel OME-TIFF)"
    flavour = "ome"

    @staticmethod
    def layout_problem(channels):
        dtypes = {c.datatype for c in channels}
        if len(dtypes) > 1:
            return (f"the channels have different datatypes ({', '.join(sorted(dtypes))}): "
                    "one OME-TIFF can't hold them; choose tiff-zip")
        return None

    def produce(self, job):
        spec, channels = job.spec, job.spec.channels
        dtype = channels[0].datatype
        suffix = ".tif" if effective_flavour(self.flavour, dtype) != "ome" else ".ome.tif"
        name = job.stem() + suffix
        with tiff_for(job, job.folder / name, channels[0], len(channels), spec.channel_names, self.flavour) as out:
            if not out.resumed:
                job.forget(channels)
            job.fetch(job.tasks(), job.into(out))
        return name, job.sidecar([name])


class ImageJTiff(OmeTiff):
    name = "imagej-tiff"
    label = "ImageJ TIFF (one channel, uint8/uint16)"
    flavour = "imagej"
    compressions = ("none", "deflate")  # what Fiji's own TIFF opener reads

    @staticmethod
    def layout_problem(channels):
        if len(channels) > 1 or {c.datatype for c in channels} - {"uint8", "uint16"}:
            return "an ImageJ TIFF holds one uint8 or uint16 channel; choose ome-tiff or tiff-zip"
        return None


class TiffZip(Format):
    name = "tiff-zip"
    label = "ZIP of one TIFF per channel"
    carries_objects = True
    flavour = "ome"  # each channel's TIFF (uint64 ones fall back to a plain TIFF)

    def produce(self, job):
        from cutouts.pipeline.writers import tiffzip
        from cutouts.pipeline.writers.zipstream import AppendZip

        spec, files = job.spec, []
        name = f"{job.stem()}.zip"
        members = [(f"{job.stem(ch.name)}.tif", ch) for ch in spec.channels]
        if uncompressed(spec.compression):  # each TIFF made in place in the ZIP (cutouts/pipeline/writers/tiffzip.py)
            sidecar = []

            def after_the_tiffs():  # once every block is in: the object ids are known
                extras = job.ids.files() if job.ids else {}
                sidecar.append(job.sidecar([m for m, _ in members] + list(extras)))
                return {SIDECAR: sidecar[0], **extras}
            tiffzip.produce(job, name, members, lambda ch, path, volume: tiff_for(job, path, ch, volume=volume),
                            after_the_tiffs)
            return name, sidecar[0]
        for member, ch in members:
            path = job.folder / member
            if job.resume and path.exists() and job.finished([ch]):  # an earlier run finished this channel
                files.append(str(path))
                continue
            with tiff_for(job, path, ch) as out:
                if not out.resumed:
                    job.forget([ch])
                job.fetch(job.tasks([ch]), job.into(out))
            files.append(out.path)
        extras = job.ids.files() if job.ids else {}
        sidecar = job.sidecar([os.path.basename(f) for f in files] + list(extras))
        part = job.folder / (name + ".part")
        # The channels' TIFFs copied in (AppendZip.add_file: large pieces, O_DIRECT, a fast CRC), each
        # deleted once in: the disk holds one TIFF twice at most. A crash meanwhile leaves the ZIP unfinished
        # and the channels not yet in it; a resumed job fetches again the ones whose TIFF is gone.
        out = AppendZip(part)
        try:
            for path in files:
                out.add_file(os.path.basename(path), path)
                os.unlink(path)
            for member, text in {SIDECAR: sidecar, **extras}.items():
                out.add(member, text)
            out.close()
        except BaseException:
            out.abandon()
            part.unlink(missing_ok=True)
            raise
        os.replace(part, job.folder / name)
        return name, sidecar


class OmeZarr(Format):
    name = "ome-zarr"
    label = "OME-Zarr in a ZIP (NGFF 0.4; image channels on a c axis, annotations as labels)"
    carries_objects = True
    # Chunks through blosc, which every zarr reader has. lz4 by default: zarr's own default compressor, and
    # fast enough (~1.9 GB/s a thread) to keep pace with BOSS; zstd makes smaller files of noisy data at
    # ~355 MB/s a thread (cutouts/pipeline/writers/zarr.py).
    compressions = ("none", "lz4", "zstd")
    default_compression = "lz4"

    @staticmethod
    def layout_problem(channels):
        from cutouts.pipeline.writers.ngff import layout_problem

        return layout_problem([(c.name, c.datatype, c.type) for c in channels])

    def produce(self, job):
        from cutouts.pipeline.writers.zarr import OmeZarrZip

        spec = job.spec
        name = f"{job.stem()}.ome.zarr.zip"
        kinds = [(c.name, c.datatype, c.type or "image") for c in spec.channels]
        box = job.box
        with OmeZarrZip(job.folder / name, box.shape_zyx, kinds, spec.calibration, times=box.time_samples,
                        origin_zyx=(box.z[0], box.y[0], box.x[0]), hierarchy=spec.hierarchy_method,
                        resume=job.resume, compression=spec.compression) as out:
            if not out.resumed:
                job.forget(spec.channels)
            job.fetch(job.tasks(), job.into(out))
            sidecar = job.sidecar([name])
            out.extra_files.update({SIDECAR: sidecar, **(job.ids.files() if job.ids else {})})
        return name, sidecar


FORMATS = {f.name: f() for f in (OmeTiff, TiffZip, ImageJTiff, OmeZarr)}  # the web jobs' formats, in menu order
