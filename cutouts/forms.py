"""The cutout form's data: read from a POST or a pre-filling query string, into the request dict that
cutouts.validation checks (the JSON API sends the same dict)."""
from urllib.parse import urlencode

from django.conf import settings

from bossdb.geometry import DTYPE_BYTES

from cutouts.validation import AXES

DEFAULT_XY = 1024
DEFAULT_Z = 64


def _pair(source, axis):
    lo, hi = source.get(f"{axis}0", ""), source.get(f"{axis}1", "")
    if lo == "" and hi == "":
        text = source.get(axis, "")  # "x=100:600" in a shared link
        if ":" in text:
            lo, hi = text.split(":", 1)
    return [lo.strip(), hi.strip()] if isinstance(lo, str) and isinstance(hi, str) else [lo, hi]


def parse_form(post, collection, experiment):
    data = {
        "collection": collection,
        "experiment": experiment,
        "channels": post.getlist("channels"),
        "resolution": post.get("resolution", ""),
        "format": post.get("format", "ome-tiff"),
        "parts": post.get("parts") == "on",
        "name": post.get("name", ""),
        "compression": post.get("compression", ""),
    }
    for axis in AXES:
        data[axis] = _pair(post, axis)
    t = _pair(post, "t")
    if any(v != "" for v in t):
        data["t"] = t
    return data


def default_box(detail, resolution, bytes_per_voxel):
    """The centre of what BOSS serves at `resolution`, up to 1024 × 1024 × 64 voxels, shrunk to fit the cap."""
    level = detail.level(resolution)
    size = level.servable_size
    sizes = [min(DEFAULT_XY, size[0]), min(DEFAULT_XY, size[1]), min(DEFAULT_Z, size[2])]
    while sizes[0] * sizes[1] * sizes[2] * bytes_per_voxel > settings.CUTOUT_MAX_BYTES and max(sizes) > 1:
        i = sizes.index(max(sizes))
        sizes[i] = max(1, sizes[i] // 2)
    box = {}
    for i, axis in enumerate(AXES):
        start, stop = level.bounds[i]
        lo = start + (stop - start - sizes[i]) // 2
        box[axis] = [lo, lo + sizes[i]]
    return box


def initial_request(detail, query, collection, experiment):
    """The form's first state: from the query string where given (links, 'again at another level'),
    else the chosen channels, level 0 and a box at the centre of the frame."""
    names = [c.name for c in detail.channels]
    chosen = [n for n in query.getlist("channels") if n in names] or names[:1]
    try:
        resolution = int(query.get("resolution", 0))
    except ValueError:
        resolution = 0
    usable = detail.usable(chosen)
    if usable and resolution not in usable:
        resolution = usable[0]
    data = {"collection": collection, "experiment": experiment, "channels": chosen, "resolution": resolution,
            "format": query.get("format", "ome-tiff"), "parts": query.get("parts") == "on",
            "compression": query.get("compression", ""), "name": query.get("name", "")}
    given = {axis: _pair(query, axis) for axis in AXES}
    if all(all(v != "" for v in pair) for pair in given.values()):
        data.update(given)
    elif usable:
        by_name = {c.name: c for c in detail.channels}
        per_voxel = sum(DTYPE_BYTES.get(by_name[n].datatype, 1) for n in chosen) or 1
        data.update(default_box(detail, resolution, per_voxel))
    t = _pair(query, "t")
    if all(v != "" for v in t):
        data["t"] = t
    return data


def query_for_job(job):
    """The query string that pre-fills the form with a job's request."""
    params = [("channels", ch) for ch in job.channels] + [
        ("resolution", job.resolution), ("x0", job.x0), ("x1", job.x1), ("y0", job.y0), ("y1", job.y1),
        ("z0", job.z0), ("z1", job.z1), ("format", job.format),
    ]
    if job.time_range:
        params += [("t0", job.t0), ("t1", job.t1)]
    if job.split:
        params.append(("parts", "on"))
    if job.compression:  # as it was, also "none" (OME-Zarr's default is zstd)
        params.append(("compression", job.compression))
    return urlencode(params)
