"""A BOSS channel laid out as a read-only OME-Zarr image: NGFF 0.4 on Zarr v2. Pure: no Django, no HTTP.

Why 0.4 on v2: it is what all three readers we aim at open today: zarr-python 3 (v2 and v3), ome-zarr-py /
napari-ome-zarr (0.4 and 0.5), and the Neuroglancer client devboss serves (its `zarr://` source reads
`.zattrs` multiscales 0.4 and 0.5); 0.5 needs Zarr v3, which older napari-ome-zarr installs cannot read.
The portal's OME-Zarr zip (cutouts/pipeline/writers/zarr.py) writes the same version.

    <channel>.ome.zarr/
    ├── .zgroup, .zattrs, .zmetadata   multiscales (one dataset per level BOSS serves), omero window
    ├── <r>/.zarray, <r>/<t>/<z>/<y>/<x>   level r (BOSS's resolution number), chunks of one cuboid
    └── labels/<annotation>/...         the experiment's uint64 annotation channels, as NGFF labels

Each level's array covers exactly what BOSS serves there (bossdb.levels: the level-0 bounds check, base
resolution, downsample status), so every chunk inside it is one cutout BOSS answers. Array index 0 is the
first served voxel; the NGFF translation puts it back in the frame (voxel centres, as NGFF and napari
place them: level r is shifted by half its voxel minus half the finest voxel, so levels line up).
Chunks are BOSS's 512×512×16 cuboids (smaller where the level is), t chunks of 1.
"""
from dataclasses import dataclass, field

import numpy as np

from cutouts.pipeline.writers import ngff

CHUNK_XYZ = (512, 512, 16)  # BOSS's cuboid
SPACE_UNITS = {"nanometers": "nanometer", "micrometers": "micrometer", "millimeters": "millimeter",
               "centimeters": "centimeter", "meters": "meter"}
ZARR_DTYPES = {"uint8": "|u1", "uint16": "<u2", "uint64": "<u8"}
COMPRESSOR = {"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 1, "blocksize": 0}


class LayoutError(ValueError):
    """A channel the Zarr view can't offer (no level BOSS serves, a datatype BOSS can't cut out)."""


@dataclass(frozen=True)
class LevelArray:
    """One level's array: BOSS resolution `resolution`, first served voxel `origin` (x, y, z) in that
    level's grid, shape and chunks in array order ([t,] z, y, x)."""

    resolution: int
    origin: tuple
    shape: tuple
    chunks: tuple
    dtype: str
    timed: bool

    def chunk_box(self, index):
        """The BOSS ranges (x, y, z, t or None) of chunk `index` (array order), or None outside the grid."""
        if len(index) != len(self.shape):
            return None
        ranges = []
        for i, n, c in zip(index, self.shape, self.chunks):
            if i < 0 or i * c >= n:
                return None
            ranges.append((i * c, min((i + 1) * c, n)))
        t = ranges.pop(0) if self.timed else None
        (z0, z1), (y0, y1), (x0, x1) = ranges
        ox, oy, oz = self.origin
        return (x0 + ox, x1 + ox), (y0 + oy, y1 + oy), (z0 + oz, z1 + oz), t

    def is_full(self, box):
        """Whether a chunk's box is a whole chunk (an edge chunk is smaller, and padded when encoded)."""
        x, y, z, t = box
        sizes = ((t[1] - t[0],) if t else ()) + (z[1] - z[0], y[1] - y[0], x[1] - x[0])
        return sizes == tuple(self.chunks)

    def zarray(self):
        return {"zarr_format": 2, "shape": list(self.shape), "chunks": list(self.chunks),
                "dtype": ZARR_DTYPES[self.dtype], "compressor": dict(COMPRESSOR), "fill_value": 0,
                "order": "C", "filters": None, "dimension_separator": "/"}


@dataclass(frozen=True)
class Image:
    """One multiscale image (a channel): its levels by path and its group attributes."""

    channel: str
    datatype: str
    arrays: dict  # path ("0", "1", ...) -> LevelArray
    attrs: dict
    labels: dict = field(default_factory=dict)  # annotation channel name -> Image


def _time_axis(experiment, channel):
    """(timed, scale, unit): a t axis where the experiment has time samples BOSS serves per sample (a
    CloudVolume channel answers time sample 0 to any range, behaviour 9, so it gets none)."""
    if int(experiment.num_time_samples or 1) <= 1 or channel.is_cloudvolume:
        return False, 1.0, None
    unit = (experiment.time_step_unit or "").lower().rstrip("s")
    return True, float(experiment.time_step or 1.0), unit if unit in ngff.TIME_UNITS else None


def level_arrays(experiment, channel, levels):
    """{path: LevelArray} of the levels BOSS serves for `channel` (levels: bossdb.levels.ChannelLevels)."""
    if channel.datatype not in ZARR_DTYPES:
        raise LayoutError(f"BOSS can't cut out {channel.datatype} channels, so {channel.name} has no Zarr view")
    timed, _, _ = _time_axis(experiment, channel)
    times = (int(experiment.num_time_samples),) if timed else ()
    out = {}
    for r in levels.usable:
        (x0, x1), (y0, y1), (z0, z1) = levels.level(r).bounds
        shape = times + (z1 - z0, y1 - y0, x1 - x0)
        chunks = ((1,) if timed else ()) + tuple(min(c, n) for c, n in zip(CHUNK_XYZ[::-1], shape[-3:]))
        out[str(r)] = LevelArray(r, (x0, y0, z0), shape, chunks, channel.datatype, timed)
    if not out:
        raise LayoutError(f"BOSS serves no level of {channel.name}: " + "; ".join(levels.notes.values()))
    return out


def _datasets(arrays, levels, timed, t_scale):
    """NGFF datasets, finest first: scale = the level's voxel size, translation = its first voxel's centre."""
    finest = levels.level(next(iter(arrays.values())).resolution).voxel_size
    out = []
    for path, array in arrays.items():
        voxel = levels.level(array.resolution).voxel_size  # x, y, z
        scale = [voxel[2], voxel[1], voxel[0]]
        translation = [o * v + (v - f) / 2 for o, v, f in zip(array.origin[::-1], scale, finest[::-1])]
        lead_scale, lead_shift = ([t_scale], [0.0]) if timed else ([], [])
        out.append(ngff.dataset(path, lead_scale + scale, lead_shift + translation))
    return out


def _omero(channel, window):
    """Display settings for an image channel: the datatype's range, the display window where known."""
    top = float(np.iinfo(channel.datatype).max)
    start, end = (float(window[0]), float(window[1])) if window else (0.0, top)
    return {"channels": [{"label": channel.name, "active": True, "color": "FFFFFF", "coefficient": 1.0,
                          "inverted": False, "family": "linear",
                          "window": {"min": 0.0, "max": top, "start": start, "end": end}}],
            "rdefs": {"model": "greyscale"}, "version": ngff.VERSION}


def image(experiment, frame, channel, levels, window=None, label_source=None):
    """The Image of `channel`. Annotation channels (uint64) are label images: `image-label` in their
    attributes, with `label_source` the path to the image they label (None at their own URL)."""
    arrays = level_arrays(experiment, channel, levels)
    timed, t_scale, t_unit = _time_axis(experiment, channel)
    unit = SPACE_UNITS.get(frame.voxel_unit)
    axes = ([ngff.axis("t", "time", t_unit)] if timed else []) + [ngff.axis(a, "space", unit) for a in "zyx"]
    label = is_label(channel)
    attrs = ngff.multiscales(_datasets(arrays, levels, timed, t_scale), axes, channel.name,
                             omero=None if label else _omero(channel, window))
    if label:
        attrs["image-label"] = ({"source": {"image": label_source}} if label_source else {})
        attrs["image-label"]["version"] = ngff.VERSION
    return Image(channel.name, channel.datatype, arrays, attrs)


def is_label(channel):
    return channel.type == "annotation" and channel.datatype == "uint64"


def with_labels(img, label_images):
    """`img` with the experiment's label images under labels/ (those on the same time axis as `img`)."""
    ndim = len(next(iter(img.arrays.values())).shape)
    fitting = {i.channel: i for i in label_images
               if i.channel != img.channel and len(next(iter(i.arrays.values())).shape) == ndim}
    return Image(img.channel, img.datatype, img.arrays, img.attrs, fitting)


def metadata(img):
    """{key: JSON document} of every metadata key under the image's root (what .zmetadata consolidates)."""
    docs = {".zgroup": {"zarr_format": 2}, ".zattrs": img.attrs}
    for path, array in img.arrays.items():
        docs[f"{path}/.zarray"] = array.zarray()
        docs[f"{path}/.zattrs"] = {}
    if img.labels:
        docs["labels/.zgroup"] = {"zarr_format": 2}
        docs["labels/.zattrs"] = ngff.labels(img.labels)
        for name, label in img.labels.items():
            for key, doc in metadata(label).items():
                docs[f"labels/{name}/{key}"] = doc
    return docs


def consolidated(img):
    return {"zarr_consolidated_format": 1, "metadata": metadata(img)}


def find_array(img, key):
    """(Image, LevelArray, chunk index) for a chunk key ("0/1/2/3", "labels/seg/0/1/2/3"), or None."""
    parts = key.split("/")
    if len(parts) > 2 and parts[0] == "labels" and parts[1] in img.labels:
        return find_array(img.labels[parts[1]], "/".join(parts[2:]))
    array = img.arrays.get(parts[0])
    if array is None or not all(p.isdigit() for p in parts[1:]):
        return None
    index = tuple(int(p) for p in parts[1:])
    return (img, array, index) if array.chunk_box(index) is not None else None
