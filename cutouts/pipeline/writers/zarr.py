"""Write a cutout as a zipped OME-Zarr (NGFF 0.4), block by block, with memory bounded by a few blocks.

Layout (one multiscale image, its annotation channels as NGFF labels):

    <stem>.ome.zarr.zip
    ├── .zattrs            multiscales (version 0.4, axes with units, scale + translation) and omero channels
    ├── 0/                 the level as fetched: (t?, c?, z, y, x); image channels of one dtype on a "c" axis
    ├── 1/                 one extra level, every 2nd voxel in x and y (z too when the hierarchy is isotropic)
    ├── labels/<channel>/  each uint64 annotation channel, when the cutout also has image channels
    └── provenance.json

Zarr format 2 (NGFF 0.4 predates zarr 3), "/" chunk keys, written by zarr into a local folder: each block
from BOSS goes into its region of the array as it arrives. Blocks follow BOSS's cuboid grid, the arrays'
chunks follow the box's origin, so two blocks can share a chunk: writes take a lock (a chunk write is a
read-modify-write). The folder is then zipped (ZIP_STORED: chunks are already compressed, and zarr's
ZipStore and napari read stored members directly) under a temporary name and renamed.

The metadata are the attributes ome-zarr's writer would write (built by cutouts/pipeline/writers/ngff.py, which checks axes,
units and transformations against the NGFF 0.4 rules), set with zarr: the worker needs no ome-zarr.
"""
import os
import shutil
import threading
import zipfile
from math import ceil

import numpy as np

from cutouts.pipeline.writers import ngff
from cutouts.pipeline.writers.base import WriterError

NGFF_UNITS = {"nanometers": "nanometer", "micrometers": "micrometer", "millimeters": "millimeter",
              "centimeters": "centimeter"}
CHUNK_ZYX = (16, 256, 256)  # BOSS cuboids are 512×512×16; smaller chunks keep a uint64 chunk at 8 MB
DOWNSAMPLE_TILE = 256  # level-1 voxels per side read at a time while making the extra level


def split_channels(channels):
    """(image channels, label channels) from [(name, dtype, kind)]: uint64 annotations become labels when
    there is an image to label; a cutout of annotations only is itself the image."""
    images = [c for c in channels if not (c[2] == "annotation" and np.dtype(c[1]) == np.uint64)]
    labels = [c for c in channels if c not in images]
    if not images:
        return labels, []
    return images, labels


def layout_problem(channels):
    """Why these [(name, dtype, kind)] can't be one OME-Zarr image, or None."""
    images, _ = split_channels(channels)
    dtypes = sorted({str(np.dtype(c[1])) for c in images})
    if len(dtypes) > 1:
        return (f"the image channels have different datatypes ({', '.join(dtypes)}): one OME-Zarr image "
                "holds one datatype on its channel axis; cut them out separately or choose tiff-zip")
    return None


class OmeZarrZip:
    """Use as a context manager; `write_block(data, z0, y0, x0, t, c)` with c the index in `channels`.

    On a clean exit the zip is complete at `path`; on an error nothing is left behind, unless resume=True:
    then the arrays' folder stays for a later run, which reopens it (`resumed`) and writes the rest.
    """

    def __init__(self, path, zyx, channels, calibration, times=1, origin_zyx=(0, 0, 0), hierarchy="anisotropic",
                 extra_files=None, extra_level=True, resume=False, compression="zstd"):
        problem = layout_problem(channels)
        if problem:
            raise WriterError(problem)
        self.path = os.fspath(path)
        self.folder = self.path + ".d"
        self.zyx = tuple(int(v) for v in zyx)
        self.all_channels = list(channels)
        self.channels = len(channels)  # the engine passes the channel index when there are several
        self.images, self.labels = split_channels(channels)
        self.cal = calibration
        self.times = times
        self.origin = origin_zyx
        self.z_factor = 2 if hierarchy == "isotropic" else 1
        self.extra_files = dict(extra_files or {})
        self.extra_level = extra_level and self.zyx[1] >= 2 and self.zyx[2] >= 2
        self.resume = resume
        self.resumed = False
        self.compression = compression
        self.lock = threading.Lock()
        self.targets = {}  # channel index -> (array, channel index in it or None)

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

    def _compressors(self):
        """Blosc zstd (level 3, byte shuffle) for "zstd"; none for "none"."""
        if self.compression in (None, "", "none"):
            return None
        from numcodecs import Blosc

        return Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)

    def _create_multiscale(self, group, members, name):
        dtype = np.dtype(members[0][1])
        n_c = len(members)
        arrays = []
        for level in range(2 if self.extra_level else 1):
            shape = self._shape(n_c, self._level_zyx(level))
            chunks = (1,) * (len(shape) - 3) + tuple(min(c, s) for c, s in zip(CHUNK_ZYX, shape[-3:]))
            arrays.append(group.create_array(
                str(level), shape=shape, chunks=chunks, dtype=dtype, fill_value=0,
                chunk_key_encoding={"name": "v2", "separator": "/"}, compressors=self._compressors(),
            ))
        lead = len(arrays[0].shape) - 3
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
            self.levels = [[root[str(lv)] for lv in range(levels)]]
            for ci, member in enumerate(self.images):
                self.targets[index[member[0]]] = (self.levels[0][0], ci if len(self.images) > 1 else None)
            for member in self.labels:
                arrays = [root["labels"][member[0]][str(lv)] for lv in range(levels)]
                self.levels.append(arrays)
                self.targets[index[member[0]]] = (arrays[0], None)
        except (KeyError, OSError, ValueError, zarr.errors.BaseZarrError):
            self.targets = {}
            return False
        return tuple(self.levels[0][0].shape[-3:]) == self.zyx

    def open(self):
        import zarr

        if self.resume and os.path.isdir(self.folder) and self._reopen():
            self.resumed = True
            return self
        try:
            shutil.rmtree(self.folder, ignore_errors=True)
            root = zarr.open_group(zarr.storage.LocalStore(self.folder), mode="w", zarr_format=2)
            index = {name: i for i, (name, _, _) in enumerate(self.all_channels)}
            self.levels = []  # [arrays per level] per multiscale, to make the extra level at the end
            arrays = self._create_multiscale(root, self.images, os.path.basename(self.path).split(".")[0])
            self.levels.append(arrays)
            for ci, member in enumerate(self.images):
                self.targets[index[member[0]]] = (arrays[0], ci if len(self.images) > 1 else None)
            if self.labels:
                labels = root.create_group("labels")
                for member in self.labels:
                    group = labels.create_group(member[0])
                    arrays = self._create_multiscale(group, [member], member[0])
                    self.levels.append(arrays)
                    self.targets[index[member[0]]] = (arrays[0], None)
                    group.attrs.update(ngff.image_label("../../"))
                labels.attrs.update(ngff.labels(m[0] for m in self.labels))
        except OSError as exc:
            self._discard()
            raise WriterError(f"could not create the OME-Zarr: {exc.strerror or exc}") from exc
        return self

    # --- writing ---------------------------------------------------------------------------------------
    def write_block(self, data, z0, y0, x0, t=0, c=0):
        array, ci = self.targets[c]
        bz, by, bx = data.shape
        if z0 < 0 or y0 < 0 or x0 < 0 or z0 + bz > self.zyx[0] or y0 + by > self.zyx[1] or x0 + bx > self.zyx[2]:
            raise WriterError(f"block {data.shape} at z={z0} y={y0} x={x0} does not fit the volume {self.zyx}")
        region = ((t,) if self.times > 1 else ()) + ((ci,) if ci is not None else ()) + (
            slice(z0, z0 + bz), slice(y0, y0 + by), slice(x0, x0 + bx))
        try:
            with self.lock:  # blocks may share a chunk: one read-modify-write at a time
                array[region] = data
        except OSError as exc:
            raise WriterError(f"writing the OME-Zarr failed: {exc.strerror or exc}") from exc

    def _downsample(self, arrays):
        """Level 1 from level 0, every 2nd voxel (never averages: label ids stay ids), tile by tile."""
        src, dst = arrays
        fz = self.z_factor
        lead = len(src.shape) - 3
        tz, tyx = CHUNK_ZYX[0], DOWNSAMPLE_TILE
        dz_n, dy_n, dx_n = dst.shape[-3:]
        for z in range(0, dz_n, tz):
            for y in range(0, dy_n, tyx):
                for x in range(0, dx_n, tyx):
                    zs, ys, xs = (slice(z, min(z + tz, dz_n)), slice(y, min(y + tyx, dy_n)),
                                  slice(x, min(x + tyx, dx_n)))
                    block = src[(slice(None),) * lead + (slice(zs.start * fz, zs.stop * fz, fz),
                                                         slice(ys.start * 2, ys.stop * 2, 2),
                                                         slice(xs.start * 2, xs.stop * 2, 2))]
                    dst[(slice(None),) * lead + (zs, ys, xs)] = block

    def commit(self):
        part = self.path + ".part"
        try:
            if self.extra_level:
                for arrays in self.levels:
                    self._downsample(arrays)
            with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for here, dirs, files in os.walk(self.folder):
                    dirs.sort()
                    for name in sorted(files):
                        full = os.path.join(here, name)
                        zf.write(full, os.path.relpath(full, self.folder))
                for name, text in self.extra_files.items():
                    zf.writestr(name, text)
            os.replace(part, self.path)
        except OSError as exc:
            raise WriterError(f"finishing the OME-Zarr failed: {exc.strerror or exc}") from exc
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            if os.path.exists(part):
                os.unlink(part)

    def _discard(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.open()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            if not self.resume:
                self._discard()
            return False
        self.commit()
        return False
