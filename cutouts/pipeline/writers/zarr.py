"""Write a cutout as a zipped OME-Zarr (NGFF 0.4), block by block, with memory bounded by a few blocks.

Layout (one multiscale image, its annotation channels as NGFF labels):

    <stem>.ome.zarr.zip
    ├── .zattrs            multiscales (version 0.4, axes with units, scale + translation) and omero channels
    ├── 0/                 the level as fetched: (t?, c?, z, y, x); image channels of one dtype on a "c" axis
    ├── 1/                 one extra level, every 2nd voxel in x and y (z too when the hierarchy is isotropic)
    ├── labels/<channel>/  each uint64 annotation channel, when the cutout also has image channels
    └── provenance.json

Zarr format 2 (NGFF 0.4 predates zarr 3), "/" chunk keys, in a local folder: zarr creates the arrays and
writes the metadata; the chunk files are written straight from each block as it arrives, level 0 and level
1 together (cutouts/pipeline/writers/chunks.py: a chunk a block covers whole is encoded at once, one that two
blocks share is merged under a lock). Blocks follow BOSS's cuboid grid, the arrays' chunks the box's
origin, their depth chosen so that they end where the blocks do in z (`chunk_zyx`): a box that starts on
the grid in y and x has no shared chunk, wherever it starts in z. Whole chunks are appended to the result's
ZIP as they are encoded (cutouts/pipeline/writers/zipstream.py; ZIP_STORED: chunks are already compressed, and
zarr's ZipStore and napari read stored members directly); at the end the chunks no run handed on whole
(chunks.Slots) and the metadata join them, and the ZIP, written under a temporary name, is renamed.

The metadata are the attributes ome-zarr's writer would write (built by cutouts/pipeline/writers/ngff.py, which checks axes,
units and transformations against the NGFF 0.4 rules), set with zarr: the worker needs no ome-zarr.
"""
import os
import shutil
from math import ceil, gcd

import numpy as np

from cutouts.pipeline.writers import ngff
from cutouts.pipeline.writers.base import WriterError, uncompressed
from cutouts.pipeline.writers.chunks import RAW, ChunkGrid, every_other
from cutouts.pipeline.writers.zipstream import AppendZip

NGFF_UNITS = {"nanometers": "nanometer", "micrometers": "micrometer", "millimeters": "millimeter",
              "centimeters": "centimeter"}
CHUNK_ZYX = (16, 256, 256)  # BOSS cuboids are 512×512×16; smaller chunks keep a uint64 chunk at 8 MB
CUBOID_ZYX = (16, 512, 512)


def chunk_zyx(origin_zyx, level=0):
    """The chunks of `level` (0 as fetched, 1 the extra level) for a box whose first voxel is `origin_zyx`.

    The blocks are cut on BOSS's cuboid grid, which starts at coordinate 0 (z on multiples of 16), the
    arrays' chunks from the box's first voxel. A box starting at z 100 (where demo/cortex's frame starts,
    or anywhere a user starts it) then had every chunk of 16 slices shared by two blocks: each went through a
    file, was decoded and encoded twice, and the job took 2.2 times the CPU and reached 275-280 MB. Chunks as
    deep as the largest power of two dividing the box's z start (4 for z 100, 1 for an odd one) end where
    the blocks do; they are then wider (512 where y or x starts on the cuboid grid, so edges still meet) to
    stay near 1 Mi voxels. Level 1 (every other voxel in y and x) keeps 256 in y and x: its blocks' edges
    fall on multiples of 256 at best."""
    z0, y0, x0 = (int(v) for v in origin_zyx)
    cz = gcd(CUBOID_ZYX[0], z0)  # gcd(16, 0) is 16: a box on the grid keeps the usual chunks
    if level:
        return (cz,) + CHUNK_ZYX[1:]
    grow = CHUNK_ZYX[0] // cz
    cy = CUBOID_ZYX[1] if grow >= 2 and y0 % CUBOID_ZYX[1] == 0 else CHUNK_ZYX[1]
    cx = CUBOID_ZYX[2] if grow >= 4 and x0 % CUBOID_ZYX[2] == 0 else CHUNK_ZYX[2]
    return cz, cy, cx


# Blosc codecs by compression name: (clevel, blocksize in bytes, 0 = blosc's own choice). lz4 level 5 is
# zarr's own default compressor and keeps pace with BOSS (~1.8-3 GB/s a thread). zstd makes smaller files
# (noisy EM: 0.76-0.82 of raw where lz4 gives 1.0). Blosc's clevel 1 is zstd's level 1 (blosc's clevel 3, the
# choice before, is zstd's level 5), in blocks of 1 MiB, not the 32 KiB blosc picks at that level: a uint8
# chunk is one block, a uint16 chunk two. One thread, level 0 and level 1 chunks: 16-bit fluorescence 0.86
# GB/s and 0.101 of raw (512 KiB blocks 0.77 and 0.157, blosc's own 0.22 and 0.33), the EM channels, noisy or
# not, the same speed or faster (1.0-1.45 GB/s) and the same size, labels 3.6 GB/s instead of 3.8.
# Readers need nothing for it: the blocksize is in each chunk's header.
BLOSC = {"lz4": (5, 0), "zstd": (1, 1024 * 1024)}


def blosc_codec(compression, dtype):
    """The Blosc codec of `compression` (BLOSC) for voxels of `dtype`; None for "none"."""
    if uncompressed(compression):
        return None
    from numcodecs import Blosc

    if compression not in BLOSC:
        raise WriterError(f"unknown compression {compression!r} for OME-Zarr; choose none, " + " or ".join(BLOSC))
    # Byte shuffle groups the bytes of multi-byte voxels; one-byte voxels have nothing to group.
    shuffle = Blosc.SHUFFLE if np.dtype(dtype).itemsize > 1 else Blosc.NOSHUFFLE
    clevel, blocksize = BLOSC[compression]
    return Blosc(cname=compression, clevel=clevel, shuffle=shuffle, blocksize=blocksize)


class OmeZarrZip:
    """Use as a context manager; `write_block(data, z0, y0, x0, t, c)` with c the index in `channels`.

    On a clean exit the zip is complete at `path`; on an error nothing is left behind, unless resume=True:
    then the arrays' folder stays for a later run, which reopens it (`resumed`) and writes the rest.
    """

    def __init__(self, path, zyx, channels, calibration, times=1, origin_zyx=(0, 0, 0), hierarchy="anisotropic",
                 extra_files=None, extra_level=True, resume=False, compression="lz4"):
        problem = ngff.layout_problem(channels)
        if problem:
            raise WriterError(problem)
        self.path = os.fspath(path)
        self.folder = self.path + ".d"
        self.zyx = tuple(int(v) for v in zyx)
        self.all_channels = list(channels)
        self.channels = len(channels)  # the engine passes the channel index when there are several
        self.images, self.labels = ngff.split_channels(channels)
        self.cal = calibration
        self.times = times
        self.origin = origin_zyx
        self.z_factor = 2 if hierarchy == "isotropic" else 1
        self.extra_files = dict(extra_files or {})
        self.extra_level = extra_level and self.zyx[1] >= 2 and self.zyx[2] >= 2
        self.resume = resume
        self.resumed = False
        self.compression = compression
        self.targets = {}  # channel index -> ([ChunkGrid per level], channel index in the arrays or None)
        self.part = self.path + ".part"
        self.zip = None  # the AppendZip at `part` the whole chunks go into as they are encoded

    # --- layout ----------------------------------------------------------------------------------------
    def _axes(self, with_c):
        unit = NGFF_UNITS.get(self.cal.unit)
        axes = [{"name": "t", "type": "time"}] if self.times > 1 else []
        if with_c:
            axes.append({"name": "c", "type": "channel"})
        for name in ("z", "y", "x"):
            axes.append({"name": name, "type": "space", **({"unit": unit} if unit else {})})
        return axes

    def _shape(self, n_c, zyx=None):
        zyx = zyx or self.zyx
        return ((self.times,) if self.times > 1 else ()) + ((n_c,) if n_c > 1 else ()) + tuple(zyx)

    def _level_zyx(self, level):
        z, y, x = self.zyx
        if level == 0:
            return self.zyx
        return (ceil(z / self.z_factor), ceil(y / 2), ceil(x / 2))

    def _datasets(self, lead):
        """NGFF datasets: scale = the voxel size at that level, translation = the box's origin."""
        z0, y0, x0 = self.origin
        cal = self.cal
        translation = [0.0] * lead + [z0 * cal.z, y0 * cal.y, x0 * cal.x]
        out = []
        for level in range(2 if self.extra_level else 1):
            fz, fxy = (self.z_factor, 2) if level else (1, 1)
            scale = [1.0] * lead + [cal.z * fz, cal.y * fxy, cal.x * fxy]
            out.append({"path": str(level), "coordinateTransformations": [
                {"type": "scale", "scale": scale}, {"type": "translation", "translation": translation}]})
        return out

    def _create_multiscale(self, group, members, name):
        dtype = np.dtype(members[0][1])
        n_c = len(members)
        arrays = []
        for level in range(2 if self.extra_level else 1):
            shape = self._shape(n_c, self._level_zyx(level))
            zyx = chunk_zyx(self.origin, level)
            chunks = (1,) * (len(shape) - 3) + tuple(min(c, s) for c, s in zip(zyx, shape[-3:]))
            arrays.append(group.create_array(
                str(level), shape=shape, chunks=chunks, dtype=dtype, fill_value=0,
                chunk_key_encoding={"name": "v2", "separator": "/"}, compressors=blosc_codec(self.compression, dtype),
            ))
        lead = len(shape) - 3
        omero = None
        if dtype != np.uint64:
            top = float(np.iinfo(dtype).max)
            omero = {"channels": [
                {"label": m[0], "active": True, "window": {"min": 0.0, "max": top, "start": 0.0, "end": top}}
                for m in members]}
        group.attrs.update(ngff.multiscales(self._datasets(lead), self._axes(n_c > 1), name, omero=omero))
        return arrays

    def _reopen(self):
        """The arrays an earlier run left in the folder, or False when there are none usable."""
        import zarr

        try:
            root = zarr.open_group(zarr.storage.LocalStore(self.folder), mode="r+", zarr_format=2)
            index = {name: i for i, (name, _, _) in enumerate(self.all_channels)}
            levels = 2 if self.extra_level else 1
            image = [root[str(lv)] for lv in range(levels)]
            for ci, member in enumerate(self.images):
                self.targets[index[member[0]]] = (self._grids(image, ""), ci if len(self.images) > 1 else None)
            for member in self.labels:
                arrays = [root["labels"][member[0]][str(lv)] for lv in range(levels)]
                self.targets[index[member[0]]] = (self._grids(arrays, f"labels/{member[0]}"), None)
        except (KeyError, OSError, ValueError, zarr.errors.BaseZarrError):
            self.targets = {}
            return False
        # Shared chunks encoded in files, as versions before chunks.Slots left them, are not merged into: afresh.
        files = (n for _, _, names in os.walk(self.folder) for n in names)
        if any(n[0].isdigit() and not n.endswith((RAW, ".tmp")) for n in files):
            return False
        return tuple(image[0].shape[-3:]) == self.zyx

    def _grids(self, arrays, under):
        """A ChunkGrid per level for zarr arrays made (or reopened) in the folder, `under` the root."""
        codec = blosc_codec(self.compression, arrays[0].dtype)
        return [ChunkGrid(os.path.join(self.folder, under, str(level)), a.shape, a.chunks, a.dtype, codec,
                          sink=self._sink, prefix=f"{under}/{level}/".lstrip("/"))
                for level, a in enumerate(arrays)]

    def _sink(self, name, data):
        self.zip.add(name, data)

    def open(self):
        import zarr

        if self.resume and os.path.isdir(self.folder) and os.path.exists(self.part) and self._reopen():
            try:
                self.zip = AppendZip(self.part, resume=True)
            except OSError as exc:
                raise WriterError(f"could not reopen the OME-Zarr: {exc.strerror or exc}") from exc
            self.resumed = True
            return self
        try:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.zip = AppendZip(self.part)
            root = zarr.open_group(zarr.storage.LocalStore(self.folder), mode="w", zarr_format=2)
            index = {name: i for i, (name, _, _) in enumerate(self.all_channels)}
            arrays = self._create_multiscale(root, self.images, os.path.basename(self.path).split(".")[0])
            image = self._grids(arrays, "")
            for ci, member in enumerate(self.images):
                self.targets[index[member[0]]] = (image, ci if len(self.images) > 1 else None)
            if self.labels:
                labels = root.create_group("labels")
                for member in self.labels:
                    group = labels.create_group(member[0])
                    arrays = self._create_multiscale(group, [member], member[0])
                    self.targets[index[member[0]]] = (self._grids(arrays, f"labels/{member[0]}"), None)
                    group.attrs.update(ngff.image_label("../../"))
                labels.attrs.update(ngff.labels(m[0] for m in self.labels))
        except OSError as exc:
            self._discard()
            raise WriterError(f"could not create the OME-Zarr: {exc.strerror or exc}") from exc
        return self

    # --- writing ---------------------------------------------------------------------------------------
    def write_block(self, data, z0, y0, x0, t=0, c=0):
        grids, ci = self.targets[c]
        bz, by, bx = data.shape
        if z0 < 0 or y0 < 0 or x0 < 0 or z0 + bz > self.zyx[0] or y0 + by > self.zyx[1] or x0 + bx > self.zyx[2]:
            raise WriterError(f"block {data.shape} at z={z0} y={y0} x={x0} does not fit the volume {self.zyx}")
        lead = ((t,) if self.times > 1 else ()) + ((ci,) if ci is not None else ())
        shaped = data.reshape((1,) * len(lead) + data.shape)
        try:
            grids[0].write(lead + (z0, y0, x0), shaped)
            if len(grids) > 1:
                # Level 1 as the block arrives: every 2nd voxel in x and y (z too when isotropic), never
                # averaged (label ids stay ids), so the result needs no second pass over level 0. A band of
                # one level-1 chunk's width at a time, cut on its chunks' edges (a chunk whole in the block
                # is whole in its band): the thread's level-1 buffer is a band's, not a quarter block's
                # (2 MB, not 8, for the 33.5 MB blocks of uint16 images).
                step = 2 * grids[1].chunks[-1]
                edges = [x0, *range(x0 - x0 % step + step, x0 + bx, step), x0 + bx]
                for a, b in zip(edges, edges[1:]):
                    start, view = every_other(data[..., a - x0:b - x0], (z0, y0, a), (self.z_factor, 2, 2))
                    if view.size:
                        grids[1].write(lead + start, view.reshape((1,) * len(lead) + view.shape))
        except OSError as exc:
            raise WriterError(f"writing the OME-Zarr failed: {exc.strerror or exc}") from exc

    def commit(self):
        """Add the chunks still in slots, the folder (metadata) and the extra files to the ZIP, write its
        directory and give it its name."""
        part = self.part
        try:
            for grid in self._all_grids():  # chunks two blocks shared that no run has handed on whole
                grid.finish(self.zip.names())
            for here, dirs, files in os.walk(self.folder):
                dirs.sort()
                for name in sorted(files):
                    # Not a chunk write a crash cut short (its rename never came), nor a shared chunk's voxels.
                    if not name.endswith((".tmp", RAW)):
                        full = os.path.join(here, name)
                        self.zip.add_file(os.path.relpath(full, self.folder), full)
            for name, text in self.extra_files.items():
                self.zip.add(name, text)
            self.zip.close()
            os.replace(part, self.path)
        except OSError as exc:
            raise WriterError(f"finishing the OME-Zarr failed: {exc.strerror or exc}") from exc
        finally:
            self._close_grids()
            shutil.rmtree(self.folder, ignore_errors=True)
            if os.path.exists(part):
                os.unlink(part)

    def _all_grids(self):
        return {id(g): g for grids, _ in self.targets.values() for g in grids}.values()

    def _close_grids(self):
        for grid in self._all_grids():
            grid.close()

    def _discard(self):
        self._close_grids()
        if self.zip is not None:
            self.zip.abandon()
        shutil.rmtree(self.folder, ignore_errors=True)
        if os.path.exists(self.part):
            os.unlink(self.part)

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            if not self.resume:
                self._discard()
            else:
                self._close_grids()
                if self.zip is not None:
                    self.zip.abandon()  # kept for the run that resumes the job
            return False
        self.commit()
        return False
