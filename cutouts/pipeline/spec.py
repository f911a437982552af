"""CutoutSpec: one cutout request, as the form/API, the job row and the command line all describe it."""
from dataclasses import dataclass, field, replace

from bossdb.geometry import DTYPE_BYTES, Box, calibration

VERSION = "0.1.0"  # the portal's and boss-cutout's version, written into provenance.json


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    datatype: str = ""
    type: str = "image"

    @property
    def is_annotation(self):
        return self.type == "annotation"


@dataclass(frozen=True)
class CutoutSpec:
    """A box of channels of one experiment at one level, and how to deliver it.

    `box` is half-open in the voxel grid of `resolution`; `box.t` is (0, 1) unless `time_range` (the request
    named time samples explicitly). `parts` are z ranges, one file each, when the box is delivered in parts.
    `voxel_size` is the frame's (level 0), `hierarchy_method` how levels scale it.
    """

    boss_url: str
    collection: str
    experiment: str
    channels: tuple  # of ChannelSpec, in the order asked for
    resolution: int
    box: Box
    format: str = "ome-tiff"
    compression: str = "none"  # none, lz4, zstd or deflate (writers.Format.compressions: what each format takes)
    time_range: bool = False
    parts: tuple = ()
    voxel_size: tuple = (1.0, 1.0, 1.0)
    voxel_unit: str = "nanometers"
    hierarchy_method: str = "anisotropic"
    viewer_url: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def channel_names(self):
        return [c.name for c in self.channels]

    @property
    def dtypes(self):
        return {c.name: c.datatype for c in self.channels}

    @property
    def t(self):
        """The time range as asked, or None (BOSS's default time sample)."""
        return self.box.t if self.time_range else None

    @property
    def calibration(self):
        return calibration(self.voxel_size, self.voxel_unit, self.resolution, self.hierarchy_method)

    @property
    def nbytes(self):
        return sum(self.box.voxels * DTYPE_BYTES.get(c.datatype, 1) for c in self.channels)

    @property
    def resource(self):
        """bossdb://collection/experiment/em,fluo"""
        return f"bossdb://{self.collection}/{self.experiment}/" + ",".join(self.channel_names)

    def with_box(self, **axes):
        return replace(self, box=replace(self.box, **axes))

    def stem(self, channel=None, z=None, part=None):
        """The file name stem of this box (see `stem`); without `channel`, a single-channel request's
        channel is named."""
        if not channel and len(self.channels) == 1:
            channel = self.channels[0].name
        return stem(self.collection, self.experiment, channel, self.resolution, self.box.x, self.box.y,
                    z or self.box.z, self.t, part)


def stem(collection, experiment, channel, resolution, x, y, z, t=None, part=None):
    """collection_experiment[_channel]_r0_x0-512_y0-512_z0-16[_t0-2][_part001]"""
    names = [collection, experiment] + ([channel] if channel else [])
    names += [f"r{resolution}", f"x{x[0]}-{x[1]}", f"y{y[0]}-{y[1]}", f"z{z[0]}-{z[1]}"]
    if t:
        names.append(f"t{t[0]}-{t[1]}")
    if part is not None:
        names.append(f"part{part:03d}")
    return "_".join(names)
