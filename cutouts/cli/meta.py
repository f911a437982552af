"""What boss-cutout asks BOSS before downloading: each channel's datatype, the frame, the levels; and the
check of the box against them (every channel is checked before anything is downloaded)."""
from dataclasses import dataclass

import bossdb
from bossdb.errors import BossError
from bossdb.geometry import Box
from bossdb.levels import ChannelLevels, channel_levels
from cutouts.cli.errors import EXIT_USAGE, CliError, cli_error
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec


@dataclass
class Meta:
    datatype: str
    channel_type: str
    voxel_size: tuple  # level 0, (x, y, z)
    voxel_unit: str
    hierarchy_method: str
    time_samples: int
    levels: ChannelLevels  # the channel's levels and which of them BOSS serves (bossdb.levels)
    cloudvolume: bool = False


def _call(what, tries, fn, *args):
    try:
        return fn(*args)
    except BossError as exc:
        raise cli_error(exc, what, tries) from exc


def fetch_meta(session, run, channel, tries):
    """The channel's metadata; its first call (a JSON route) also checks the token: the real BOSS answers a
    bad token on metadata with 401/403, but on a cutout with a 500."""
    where = f"{run.collection}/{run.experiment}/{channel}"
    chan = _call(f"channel {where}", tries, bossdb.get_channel, session, run.collection, run.experiment, channel)
    exp = _call(f"experiment {run.collection}/{run.experiment}", tries, bossdb.get_experiment, session,
                run.collection, run.experiment)
    frame = _call(f"coordinate frame {exp.coord_frame}", tries, bossdb.get_coord_frame, session, exp.coord_frame)
    try:  # the levels BOSS reports; computed from the frame by BOSS's rule when it won't say (x != y voxels)
        reported = bossdb.get_levels(session, run.collection, run.experiment, channel)
    except BossError:
        reported = None
    return Meta(
        datatype=str(chan.datatype), channel_type=str(chan.type or "image"), voxel_size=frame.voxel_size,
        voxel_unit=frame.voxel_unit, hierarchy_method=exp.hierarchy_method or "anisotropic",
        time_samples=int(exp.num_time_samples or 1), levels=channel_levels(frame, exp, chan, reported),
        cloudvolume=chan.is_cloudvolume,
    )


def check_box(run, meta, channel=""):
    """CliError(2) naming the first thing BOSS would not serve: the level, an axis, the time range."""
    name = f"{run.collection}/{run.experiment}"
    levels = meta.levels
    level = levels.level(run.resolution)
    if level is None:
        raise CliError(EXIT_USAGE, f"--res {run.resolution}: {name} has resolutions "
                                   f"{levels.levels[0].resolution}..{levels.levels[-1].resolution}")
    if run.resolution not in levels.usable:
        served = ", ".join(map(str, levels.usable)) or "none"
        raise CliError(EXIT_USAGE, f"--res {run.resolution}: BOSS can't serve level {run.resolution} of {channel}: "
                                   f"{levels.notes[run.resolution]} (levels served: {served})")
    for axis, (start, stop) in zip("xyz", level.bounds):
        lo, hi = getattr(run, axis)
        if lo < start or hi > stop:
            raise CliError(EXIT_USAGE, f"-{axis} {lo}:{hi} is outside the frame: at resolution {run.resolution} "
                                       f"{axis} must lie within {start}:{stop}")
    if run.t and run.t[1] > meta.time_samples:
        raise CliError(EXIT_USAGE, f"-t {run.t[0]}:{run.t[1]}: {name} has time samples 0:{meta.time_samples}")
    if run.t and meta.cloudvolume:
        raise CliError(EXIT_USAGE, f"-t {run.t[0]}:{run.t[1]}: {channel} is stored in CloudVolume, which BOSS reads "
                                   "without time ranges (it would send time sample 0 whatever you ask): leave out -t")


def channel_spec(run, channel, meta):
    """The single-channel CutoutSpec that one channel of the run downloads."""
    return CutoutSpec(
        boss_url=run.boss_url, collection=run.collection, experiment=run.experiment,
        channels=(ChannelSpec(channel, meta.datatype, meta.channel_type),), resolution=run.resolution,
        box=Box(run.x, run.y, run.z, run.t or (0, 1)), format=run.format, time_range=bool(run.t),
        compression=run.compression,
        voxel_size=tuple(meta.voxel_size), voxel_unit=meta.voxel_unit, hierarchy_method=meta.hierarchy_method,
    )
