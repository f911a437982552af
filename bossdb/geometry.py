"""Geometry of BOSS volumes: boxes, cuboids, levels and their scales, calibration, datatypes. Pure.

BOSS stores each resolution level in cuboids of 512×512×16 voxels whose grid starts at coordinate 0
(boss-api.md 6.1). Level r's voxel size is the frame's with x and y times 2**r, and z too when the
hierarchy is isotropic (6.3). All ranges are half-open [start, stop) in the voxel grid of one level.
"""
from dataclasses import dataclass
from math import ceil, floor, prod

CUBOID = (512, 512, 16)  # x, y, z
AXES = ("x", "y", "z")
DTYPE_BYTES = {"uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8}
UNIT_SYMBOLS = {"nanometers": "nm", "micrometers": "µm", "millimeters": "mm", "centimeters": "cm"}


@dataclass(frozen=True)
class Box:
    """A half-open box [x0, x1) × [y0, y1) × [z0, z1) × [t0, t1) in the voxel grid of one level."""

    x: tuple
    y: tuple
    z: tuple
    t: tuple = (0, 1)

    def __post_init__(self):
        for axis in ("x", "y", "z", "t"):
            lo, hi = getattr(self, axis)
            if not (isinstance(lo, int) and isinstance(hi, int)) or lo < 0 or hi <= lo:
                raise ValueError(f"{axis} range must be two integers 0 <= start < stop, got {lo}:{hi}")

    @property
    def shape_zyx(self):
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])

    @property
    def time_samples(self):
        return self.t[1] - self.t[0]

    @property
    def voxels(self):
        return prod(self.shape_zyx) * self.time_samples

    def nbytes(self, dtype):
        return self.voxels * DTYPE_BYTES[str(dtype)]


@dataclass(frozen=True)
class Block:
    """One BOSS request: a sub-box of a cutout, for one time sample range."""

    index: int
    x: tuple
    y: tuple
    z: tuple
    t: tuple

    @property
    def shape_zyx(self):
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])

    @property
    def key(self):
        """A stable name of the block's place (the command line's resume manifest records these)."""
        return f"t{self.t[0]}z{self.z[0]}-{self.z[1]}y{self.y[0]}-{self.y[1]}x{self.x[0]}-{self.x[1]}"


@dataclass(frozen=True)
class Calibration:
    """The voxel size (x, y, z) at one level, in BOSS's voxel_unit (nanometers, micrometers, ...)."""

    x: float
    y: float
    z: float
    unit: str

    @property
    def symbol(self):
        return UNIT_SYMBOLS[self.unit]


def level_scale(level, hierarchy_method="anisotropic"):
    """(x, y, z) factors from level 0 to `level`."""
    factor = 2**level
    return (factor, factor, factor if hierarchy_method == "isotropic" else 1)


def calibration(voxel_size, voxel_unit, level, hierarchy_method="anisotropic"):
    """Voxel size (x, y, z) at `level` from the level-0 frame's voxel size."""
    sx, sy, sz = level_scale(level, hierarchy_method)
    vx, vy, vz = (float(v) for v in voxel_size)
    return Calibration(vx * sx, vy * sy, vz * sz, voxel_unit)


def computed_stops(frame_stops, levels, hierarchy_method="anisotropic"):
    """[(x, y, z) stops per level] as BOSS's downsample route reports them (6.1): level 0 is the frame's
    stops; each next level halves x and y (rounded up), and z too when the hierarchy is isotropic."""
    stops = list(frame_stops)
    out = []
    for _ in range(levels):
        out.append(tuple(stops))
        stops = [ceil(stops[0] / 2), ceil(stops[1] / 2),
                 ceil(stops[2] / 2) if hierarchy_method == "isotropic" else stops[2]]
    return out


def level_starts(frame_starts, level_voxel, base_voxel):
    """A level's first voxel (x, y, z): BOSS gives stops only; starts are the frame's, scaled down."""
    return tuple(floor(s * b / v) for s, b, v in zip(frame_starts, base_voxel, level_voxel))


def scale_range(lo, hi, ratio, bounds):
    """[lo, hi) scaled by `ratio` (rounded out), clipped to `bounds`, never empty."""
    lo, hi = floor(lo * ratio), ceil(hi * ratio)
    lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return lo, max(hi, lo + 1)
