"""Typed BOSS resources, read straight from BOSS's JSON (boss-api.md sections 3, 4 and 6).

We parse the JSON ourselves rather than through intern, whose parser rejects what the real BOSS sends
(a null `time_step_unit` raises AttributeError in intern 1.4.2). Unknown keys are ignored; a missing
required key or a wrong type is a ValueError, which the session reports as an unreadable answer.
"""
from dataclasses import dataclass, field

from bossdb.geometry import UNIT_SYMBOLS


@dataclass
class Collection:
    name: str
    description: str = ""
    public: bool = False
    creator: str = ""
    experiments: list = field(default_factory=list)


@dataclass
class CoordFrame:
    name: str
    description: str
    x_start: int
    x_stop: int
    y_start: int
    y_stop: int
    z_start: int
    z_stop: int
    x_voxel_size: float
    y_voxel_size: float
    z_voxel_size: float
    voxel_unit: str

    @property
    def unit_symbol(self):
        return UNIT_SYMBOLS.get(self.voxel_unit, self.voxel_unit)

    @property
    def starts(self):
        return (self.x_start, self.y_start, self.z_start)

    @property
    def stops(self):
        return (self.x_stop, self.y_stop, self.z_stop)

    @property
    def extent(self):
        """(x, y, z) size in voxels."""
        return (self.x_stop - self.x_start, self.y_stop - self.y_start, self.z_stop - self.z_start)

    @property
    def voxel_size(self):
        return (self.x_voxel_size, self.y_voxel_size, self.z_voxel_size)

    @property
    def physical_extent(self):
        """(x, y, z) size in voxel_unit."""
        return tuple(n * s for n, s in zip(self.extent, self.voxel_size))


@dataclass
class Experiment:
    name: str
    collection: str
    coord_frame: str
    description: str = ""
    num_hierarchy_levels: int = 1
    hierarchy_method: str = "anisotropic"
    num_time_samples: int = 1
    time_step: object = None
    time_step_unit: str = ""
    public: bool = False
    creator: str = ""
    channels: list = field(default_factory=list)


@dataclass
class Channel:
    name: str
    experiment: str
    type: str
    datatype: str
    description: str = ""
    base_resolution: int = 0
    default_time_sample: int = 0
    downsample_status: str = ""
    public: bool = False
    creator: str = ""
    sources: list = field(default_factory=list)
    related: list = field(default_factory=list)
    storage_type: str = "spdb"  # or "cloudvol" (CloudVolume: BOSS ignores time ranges and id filters)
    cv_path: str = None

    @property
    def is_cloudvolume(self):
        return self.storage_type == "cloudvol"


@dataclass
class Level:
    resolution: int
    voxel_size: tuple  # (x, y, z) in the frame's voxel_unit
    extent: tuple  # (x, y, z) as BOSS reports it: the stop coordinates at this level (section 6.1)
    cuboid_size: tuple = ()
    start: tuple = (0, 0, 0)  # (x, y, z) first voxel at this level (the frame's start, scaled)
    # What BOSS serves at this level: ((x0, x1), (y0, y1), (z0, z1)), or None where it serves nothing. The
    # real BOSS checks every range against the level-0 frame's bounds (bossdb.levels), so on a frame whose
    # start is not 0 this is less than the level's data, and past some level nothing at all.
    bounds: tuple = None

    @property
    def size(self):
        """(x, y, z) number of voxels at this level."""
        return tuple(stop - start for start, stop in zip(self.start, self.extent))

    @property
    def servable_size(self):
        """(x, y, z) voxels BOSS serves at this level ((0, 0, 0) when none)."""
        return tuple(hi - lo for lo, hi in self.bounds) if self.bounds else (0, 0, 0)


@dataclass(frozen=True)
class BoundingBox:
    """An object's half-open voxel ranges at the level asked for."""

    x: tuple
    y: tuple
    z: tuple


def _require(raw, names):
    if not isinstance(raw, dict):
        raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
    missing = [n for n in names if n not in raw]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")


def pick(cls, raw, **extra):
    """`cls` from the JSON object `raw` (its known keys only) and `extra`; ValueError if a required
    field is absent."""
    _require(raw, [])
    fields = cls.__dataclass_fields__
    try:
        return cls(**{k: v for k, v in {**raw, **extra}.items() if k in fields})
    except TypeError as exc:  # a required field missing from the body
        raise ValueError(str(exc)) from exc


def names(raw, key):
    """The sorted list of names under `key` ({"collections": [...]}, ...)."""
    _require(raw, [key])
    items = raw[key]
    if not isinstance(items, list) or not all(isinstance(n, str) for n in items):
        raise ValueError(f"{key} is not a list of names")
    return sorted(items)


def levels(raw):
    """[Level] from GET /v1/downsample's answer (starts at 0: the caller places them on the frame)."""
    _require(raw, ["voxel_size", "extent"])
    voxel, extent, cuboids = raw["voxel_size"], raw["extent"], raw.get("cuboid_size") or {}
    if not isinstance(voxel, dict) or not isinstance(extent, dict) or not isinstance(cuboids, dict):
        raise ValueError("voxel_size, extent and cuboid_size must be objects keyed by level")
    out = []
    for key in sorted(voxel, key=int):
        if key not in extent:
            raise ValueError(f"level {key} has a voxel size but no extent")
        sizes, stops = voxel[key], extent[key]
        if not (isinstance(sizes, list) and isinstance(stops, list) and len(sizes) == len(stops) == 3):
            raise ValueError(f"level {key}: voxel_size and extent must be [x, y, z]")
        out.append(Level(resolution=int(key), voxel_size=tuple(sizes), extent=tuple(stops),
                         cuboid_size=tuple(cuboids.get(key, ()))))
    return out
