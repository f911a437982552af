"""Which resolution levels BOSS can serve for a channel, and which ranges at each: the real server's rules.

Read in the real server's source (jhuapl-boss/boss `django/bosscore/request.py`, spdb `SpatialDB.cutout`):
- Valid levels are `base_resolution … base_resolution + num_hierarchy_levels − 1` (validate_resolution),
  while the downsample route always reports levels 0 … N−1 (their voxel sizes and extents follow the
  frame's rule, so the portal computes the levels above N−1 the same way).
- Every cutout range is checked against the LEVEL-0 frame's bounds whatever the level (set_cutoutargs;
  its own comment says this is wrong): at level r BOSS serves [max(start_r, frame start), min(stop_r,
  frame stop)) on each axis, which is empty past some level when a frame does not start at 0.
- Only a DOWNSAMPLED channel holds data above its base level: an annotation channel read elsewhere
  answers 500, an image channel's missing levels read as zeros. Neither is ever offered.
- A frame whose x voxel size differs from its y voxel size can't be downsampled (the downsample route
  answers 400, code 9001): its base level is served, nothing above it.
"""
from dataclasses import dataclass, replace

from bossdb.geometry import computed_stops, level_scale, level_starts
from bossdb.resources import Level

DOWNSAMPLED = "DOWNSAMPLED"
STATUS_MEANING = {
    "DOWNSAMPLED": "every level is ready",
    "NOT_DOWNSAMPLED": "not downsampled: only the base level holds data",
    "QUEUED": "downsampling is queued: only the base level holds data until it has run",
    "IN_PROGRESS": "downsampling is running: only the base level holds data until it has finished",
    "FAILED": "downsampling failed: only the base level holds data",
}


@dataclass(frozen=True)
class ChannelLevels:
    """The levels of one channel: `levels` as BOSS lays them out, `usable` the resolutions it serves."""

    levels: tuple  # of Level, resolutions base … base + N − 1
    usable: tuple  # resolutions BOSS serves data for
    notes: dict  # resolution -> why it is not usable

    def level(self, resolution):
        return next((lv for lv in self.levels if lv.resolution == resolution), None)


def servable_bounds(level, frame):
    """((x0, x1), (y0, y1), (z0, z1)) BOSS serves at `level`, or None when an axis is empty."""
    bounds = []
    for start, stop, f_start, f_stop in zip(level.start, level.extent, frame.starts, frame.stops):
        lo, hi = max(start, f_start), min(stop, f_stop)
        if lo >= hi:
            return None
        bounds.append((lo, hi))
    return tuple(bounds)


def level_table(frame, experiment, count, reported=None):
    """Levels 0 … count−1 of the frame: BOSS's reported ones where given (the downsample route), the rest
    computed by the same rule; each placed on the frame (its start) with what BOSS serves (`bounds`)."""
    method = experiment.hierarchy_method or "anisotropic"
    stops = computed_stops(frame.stops, count, method)
    known = {lv.resolution: lv for lv in reported or ()}
    out = []
    for r in range(count):
        scale = level_scale(r, method)
        voxel = tuple(v * s for v, s in zip(frame.voxel_size, scale))
        level = known.get(r) or Level(resolution=r, voxel_size=voxel, extent=stops[r], cuboid_size=(512, 512, 16))
        level = replace(level, start=level_starts(frame.starts, level.voxel_size, frame.voxel_size))
        out.append(replace(level, bounds=servable_bounds(level, frame)))
    return out


def channel_levels(frame, experiment, channel, reported=None):
    """ChannelLevels of `channel`; `reported` is the downsample route's answer (None when it refused)."""
    base = int(channel.base_resolution or 0)
    count = int(experiment.num_hierarchy_levels or 1)
    levels = level_table(frame, experiment, base + count, reported)[base:]
    usable, notes = [], {}
    status = channel.downsample_status or DOWNSAMPLED
    square = frame.x_voxel_size == frame.y_voxel_size
    for level in levels:
        r = level.resolution
        if level.bounds is None:
            notes[r] = (f"BOSS checks every range against the level-0 frame (x {frame.x_start}:{frame.x_stop}, "
                        f"y {frame.y_start}:{frame.y_stop}), which leaves nothing of level {r} it will serve")
        elif r > base and not square:
            notes[r] = (f"the frame's x and y voxel sizes differ ({frame.x_voxel_size} and {frame.y_voxel_size}), "
                        "so BOSS can't downsample it: only the base level holds data")
        elif r > base and status != DOWNSAMPLED:
            notes[r] = f"{channel.name} is {STATUS_MEANING.get(status, status.lower())} (level {base})"
        else:
            usable.append(r)
    return ChannelLevels(tuple(levels), tuple(usable), notes)
