"""Check a cutout request against what BOSS says of the experiment; build the job or name each problem.

One function serves the web form and the JSON API, so both give the same message per field.
"""
import re
from dataclasses import dataclass
from math import ceil, floor, prod

from django.conf import settings

from cutouts import limits
from cutouts.models import DTYPE_BYTES, FORMATS, CutoutJob
from cutouts.parts import PartsTooLarge, part_ranges
from cutouts.zarr_writer import layout_problem
from portal import ngstate
from portal.boss import client
from portal.boss.errors import BossForbidden, BossNotFound

AXES = ("x", "y", "z")
MAX_COORD = 2**40  # far beyond any BOSS frame; keeps arithmetic and the database sane
# ASCII digits only, and few of them: str.isdigit() also accepts "²" (which int() refuses) and int()
# refuses strings over 4300 digits, both of which were 500s.
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
BOSS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


class CutoutInvalid(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _int(value, field, errors):
    if isinstance(value, bool):
        errors[field] = "must be a whole number"
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        errors[field] = "must be a whole number"
        return None
    if abs(number) > MAX_COORD:
        errors[field] = "is far too large"
        return None
    return number


def _pair(value, field, errors):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        errors[field] = "must be a range [start, stop]"
        return None
    local = {}
    lo = _int(value[0], field, local)
    hi = _int(value[1], field, local)
    if local:
        errors[field] = "start and stop must be whole numbers"
        return None
    if lo >= hi:
        errors[field] = f"start ({lo}) must be less than stop ({hi})"
        return None
    return lo, hi


def _flag(value):
    """A checkbox or JSON boolean: true, "true", "on", "1", "yes"."""
    if isinstance(value, bool):
        return value
    return isinstance(value, (str, int)) and str(value).strip().lower() in ("1", "true", "on", "yes")


def level_box(levels, resolution):
    """(start, stop) per axis at `resolution`, from the levels table."""
    level = next(lv for lv in levels if lv.resolution == resolution)
    return {axis: (level.start[i], level.extent[i]) for i, axis in enumerate(AXES)}


def scale_box(box, levels, from_r, to_r):
    """The same physical box at another level: coordinates scale by the voxel-size ratio, rounded out."""
    src = next(lv for lv in levels if lv.resolution == from_r).voxel_size
    dst = next(lv for lv in levels if lv.resolution == to_r).voxel_size
    bounds = level_box(levels, to_r)
    out = {}
    for i, axis in enumerate(AXES):
        ratio = src[i] / dst[i]
        lo, hi = floor(box[axis][0] * ratio), ceil(box[axis][1] * ratio)
        lo, hi = max(lo, bounds[axis][0]), min(hi, bounds[axis][1])
        out[axis] = (lo, max(hi, lo + 1))
    return out


@dataclass
class SizeRow:
    resolution: int
    box: dict
    voxels: int
    nbytes: int
    fits: bool


def sizes_by_level(box, levels, resolution, bytes_per_voxel, times=1):
    """Voxels and bytes of the same physical box at every level (the 'size before submit' table)."""
    rows = []
    for level in levels:
        b = scale_box(box, levels, resolution, level.resolution)
        voxels = prod(hi - lo for lo, hi in b.values()) * times
        nbytes = voxels * bytes_per_voxel
        rows.append(SizeRow(level.resolution, b, voxels, nbytes, nbytes <= settings.CUTOUT_MAX_BYTES))
    return rows


def finest_fitting(rows):
    return next((row for row in rows if row.fits), None)


def validate(user, data):
    """Return an unsaved CutoutJob for `user`, or raise CutoutInvalid({field: message})."""
    errors = {}
    collection, experiment = data.get("collection"), data.get("experiment")
    for field, value in (("collection", collection), ("experiment", experiment)):
        if not isinstance(value, str) or not value:
            errors[field] = "is required"
        elif not BOSS_NAME.fullmatch(value):  # never pass a '?', '#' or '/' on to BOSS's URLs
            errors[field] = "is not a BOSS name (letters, digits, _ and -, at most 255)"
    if errors:
        raise CutoutInvalid(errors)
    try:
        detail = client.get_experiment_detail(user, collection, experiment)
    except BossNotFound:
        raise CutoutInvalid({"experiment": f"{collection}/{experiment} does not exist in BOSS"}) from None
    except BossForbidden:
        raise CutoutInvalid({"experiment": f"you can't read {collection}/{experiment}"}) from None
    if not detail.levels:
        raise CutoutInvalid({"resolution": detail.levels_error or "BOSS gave no resolution levels"})

    by_name = {ch.name: ch for ch in detail.channels}
    names = data.get("channels")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        errors["channels"] = "choose at least one channel"
        names = []
    else:
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in by_name]
        if unknown:
            errors["channels"] = f"not a channel of {experiment} you can read: {', '.join(unknown)}"

    n_levels = len(detail.levels)
    resolution = _int(data.get("resolution", 0), "resolution", errors)
    if resolution is not None and not 0 <= resolution < n_levels:
        errors["resolution"] = f"must be a level from 0 to {n_levels - 1}"
        resolution = None

    box = {}
    for axis in AXES:
        pair = _pair(data.get(axis), axis, errors)
        if pair is None or resolution is None:
            continue
        lo, hi = level_box(detail.levels, resolution)[axis]
        if pair[0] < lo or pair[1] > hi:
            errors[axis] = f"must lie within {lo}:{hi} at level {resolution} (got {pair[0]}:{pair[1]})"
        else:
            box[axis] = pair

    samples = detail.experiment.num_time_samples or 1
    time_range = data.get("t") not in (None, "", [])
    t = (0, 1)
    if time_range:
        pair = _pair(data.get("t"), "t", errors)
        if pair is not None:
            if pair[0] < 0 or pair[1] > samples:
                errors["t"] = f"must lie within 0:{samples} (the experiment's time samples)"
            else:
                t = pair

    fmt = data.get("format") or "ome-tiff"
    if not isinstance(fmt, str) or fmt not in FORMATS:  # a list here was a 500 (unhashable)
        errors["format"] = f"must be one of {', '.join(FORMATS)}"
    dtypes = {by_name[n].datatype for n in names if n in by_name}
    if fmt == "ome-tiff" and len(dtypes) > 1:
        errors["format"] = (f"the channels have different datatypes ({', '.join(sorted(dtypes))}): "
                            "one OME-TIFF can't hold them; choose tiff-zip")
    if fmt == "imagej-tiff" and (len(names) > 1 or dtypes - {"uint8", "uint16"}):
        errors["format"] = "an ImageJ TIFF holds one uint8 or uint16 channel; choose ome-tiff or tiff-zip"
    if fmt == "ome-zarr":  # image channels of one dtype on a c axis, uint64 annotations as labels
        problem = layout_problem([(n, by_name[n].datatype, by_name[n].type) for n in names if n in by_name])
        if problem:
            errors["format"] = problem

    split = _flag(data.get("parts"))
    part_z = []
    if not errors:
        per_voxel = sum(DTYPE_BYTES[by_name[n].datatype] for n in names)
        rows = sizes_by_level(box, detail.levels, resolution, per_voxel, t[1] - t[0])
        here = next(r for r in rows if r.resolution == resolution)
        if split:
            per_slice = here.nbytes // (box["z"][1] - box["z"][0])
            if here.nbytes > settings.CUTOUT_MAX_PARTS_BYTES:
                errors["size"] = (f"the box is {here.nbytes / 1e9:.2f} GB, over the "
                                  f"{settings.CUTOUT_MAX_PARTS_BYTES / 1e9:.2f} GB cap for a download in parts: "
                                  "use the command line tool, which has no cap")
            else:
                try:
                    part_z = [list(r) for r in part_ranges(box["z"], per_slice, settings.CUTOUT_MAX_BYTES)]
                except PartsTooLarge as exc:
                    errors["size"] = str(exc)
        elif not here.fits:
            best = finest_fitting(rows)
            hint = (f"; the same box fits at level {best.resolution} ({best.nbytes / 1e9:.2f} GB)" if best
                    else "; no level holds it under the cap")
            if here.nbytes <= settings.CUTOUT_MAX_PARTS_BYTES:
                hint += "; or ask for it in parts (each under the cap)"
            errors["size"] = (f"the box is {here.nbytes / 1e9:.2f} GB, over the {settings.CUTOUT_MAX_BYTES / 1e9:.2f} "
                              f"GB cap for one download{hint}")
    if errors:
        raise CutoutInvalid(errors)

    frame = detail.frame
    # The box in level-0 voxels, for the viewer link framed on it.
    ratio = [lv / l0 for lv, l0 in zip(next(lv for lv in detail.levels if lv.resolution == resolution).voxel_size,
                                       detail.levels[0].voxel_size)]
    box0 = tuple((round(box[a][0] * ratio[i]), round(box[a][1] * ratio[i])) for i, a in enumerate(AXES))
    chosen = [by_name[n] for n in names]
    viewer = ngstate.viewer_url(collection, experiment, chosen, frame, box=box0,
                                windows=client.display_windows(user, detail, chosen))
    job = CutoutJob(
        owner=user,
        collection=collection,
        experiment=experiment,
        channels=names,
        resolution=resolution,
        x0=box["x"][0], x1=box["x"][1], y0=box["y"][0], y1=box["y"][1], z0=box["z"][0], z1=box["z"][1],
        t0=t[0], t1=t[1], time_range=time_range,
        format=fmt,
        split=bool(part_z),
        meta={
            "part_z": part_z,
            "channels": {n: {"datatype": by_name[n].datatype, "type": by_name[n].type} for n in names},
            "voxel_size": list(frame.voxel_size),
            "voxel_unit": frame.voxel_unit,
            "hierarchy_method": detail.experiment.hierarchy_method,
            "boss_url": settings.BOSS_URL,
            "viewer_url": viewer,
        },
    )
    problem = limits.submission_problem(user, job)
    if problem:
        raise CutoutInvalid({"limit": problem})
    return job
