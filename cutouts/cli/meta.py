"""What boss-cutout asks BOSS before downloading: each channel's datatype, the frame, the levels; and the
check of the box against them (every channel is checked before anything is downloaded)."""
from dataclasses import dataclass, field
from math import floor

import bossdb
from bossdb.errors import BossError
from bossdb.geometry import Box, computed_stops, level_scale
from cutouts.cli.errors import EXIT_USAGE, CliError, cli_error
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec


@dataclass
class Meta:
    datatype: str
    channel_type: str
    voxel_size: tuple  # level 0, (x, y, z)
    voxel_unit: str
    hierarchy_method: str
    levels: int
    base_resolution: int
    time_samples: int
    bounds: dict = field(default_factory=dict)  # resolution -> {"x": (start, stop), ...}


def _bounds(frame, stops_per_level, hierarchy_method):
    """{resolution: {axis: (start, stop)}}: stops as given, starts the frame's scaled down."""
    starts = frame.starts
    out = {}
    for r, stops in stops_per_level:
        scale = level_scale(r, hierarchy_method)
        out[r] = {axis: (floor(starts[i] / scale[i]), int(stops[i])) for i, axis in enumerate("xyz")}
    return out


def _call(what, tries, fn, *args):
    try:
        return fn(*args)
    except BossError as exc:
        raise cli_error(exc, what, tries) from exc


def fetch_meta(session, run, channel, tries):
    where = f"{run.collection}/{run.experiment}/{channel}"
    chan = _call(f"channel {where}", tries, bossdb.get_channel, session, run.collection, run.experiment, channel)
    exp = _call(f"experiment {run.collection}/{run.experiment}", tries, bossdb.get_experiment, session,
                run.collection, run.experiment)
    frame = _call(f"coordinate frame {exp.coord_frame}", tries, bossdb.get_coord_frame, session, exp.coord_frame)
    method = exp.hierarchy_method or "anisotropic"
    levels = int(exp.num_hierarchy_levels)
    try:  # the levels BOSS reports; computed from the frame as BOSS would when it won't say
        stops = [(lv.resolution, lv.extent) for lv in bossdb.get_levels(session, run.collection, run.experiment,
                                                                        channel)]
    except BossError:
        stops = list(enumerate(computed_stops(frame.stops, levels, method)))
    return Meta(
        datatype=str(chan.datatype), channel_type=str(chan.type or "image"), voxel_size=frame.voxel_size,
        voxel_unit=frame.voxel_unit, hierarchy_method=method, levels=levels,
        base_resolution=int(chan.base_resolution or 0), time_samples=int(exp.num_time_samples or 1),
        bounds=_bounds(frame, stops, method),
    )


def check_box(run, meta):
    """CliError(2) naming the first axis outside the frame at the requested resolution."""
    name = f"{run.collection}/{run.experiment}"
    if run.resolution not in meta.bounds or run.resolution < meta.base_resolution:
        available = sorted(r for r in meta.bounds if r >= meta.base_resolution)
        raise CliError(EXIT_USAGE, f"--res {run.resolution}: {name} has resolutions "
                                   f"{available[0]}..{available[-1]}")
    bounds = meta.bounds[run.resolution]
    for axis in "xyz":
        lo, hi = getattr(run, axis)
        start, stop = bounds[axis]
        if lo < start or hi > stop:
            raise CliError(EXIT_USAGE, f"-{axis} {lo}:{hi} is outside the frame: at resolution {run.resolution} "
                                       f"{axis} must lie within {start}:{stop}")
    if run.t and run.t[1] > meta.time_samples:
        raise CliError(EXIT_USAGE, f"-t {run.t[0]}:{run.t[1]}: {name} has time samples 0:{meta.time_samples}")


def channel_spec(run, channel, meta):
    """The single-channel CutoutSpec that one channel of the run downloads."""
    return CutoutSpec(
        boss_url=run.boss_url, collection=run.collection, experiment=run.experiment,
        channels=(ChannelSpec(channel, meta.datatype, meta.channel_type),), resolution=run.resolution,
        box=Box(run.x, run.y, run.z, run.t or (0, 1)), format=run.format, time_range=bool(run.t),
        voxel_size=tuple(meta.voxel_size), voxel_unit=meta.voxel_unit, hierarchy_method=meta.hierarchy_method,
    )
