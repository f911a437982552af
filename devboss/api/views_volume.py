"""Volume endpoints: downsample, ids, boundingbox, reserve (boss-api.md sections 6, 8), the request
validation they share with the cutout service (devboss.api.views_cutout), and devboss's own routes:
/devboss/faults, /devboss/stats, /devboss/forgive, /devboss/throttle.

Failures are BOSS's JSON error ({"status", "code", "message"}), except where the real BOSS answers otherwise
(devboss.api.realboss: HTML 404 for segments its URL patterns would not route, HTML 500 for its unhandled
exceptions, DRF's {"detail": ...} for 406). Ranges are matched loosely by the URL patterns and validated here.
"""
import io
import json
import logging
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import blosc
import numpy as np
from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, procedural, reader, realboss, throttle, volumes, writes
from . import faults as injection
from .auth import authenticate
from .models import Grant, ReservedIds
from .reader import key as _key
from .reader import level_bounds
from .realboss import forgiven, strict

log = logging.getLogger(__name__)

RANGE_RE = re.compile(r"^(\d+):(\d+)$")
ID_RE = re.compile(r"^\d+$")
CUBOID = (512, 512, 16)
JPEG_LIMIT = 65500  # JPEG images are at most 65535 pixels high
JSON_LIMIT = 2**20  # voxels: JSON is for peeking at small regions, not for bulk data

# Renderers in BOSS's order of preference (boss-api.md 5.2); wildcards fall back to the first that fits.
MEDIA = ["application/blosc", "application/blosc-python", "application/npygz", "image/jpeg", "application/json"]
WILDCARDS = {"*/*": "application/blosc", "application/*": "application/blosc", "image/*": "image/jpeg"}


@dataclass
class Box:
    """A validated request: level r, half-open ranges in the level's grid, and whether T was given."""

    r: int
    x: tuple
    y: tuple
    z: tuple
    t: tuple
    four_d: bool

    @property
    def shape(self):
        return tuple(b - a for a, b in (self.t, self.z, self.y, self.x))


# ---- helpers -------------------------------------------------------------------------------------------


def _only_get(request):
    if request.method not in ("GET", "HEAD"):
        raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported on this devboss route.", 405)


def _resolution(channel, text):
    """BOSS's validate_resolution: base_resolution <= r < base_resolution + levels (behaviour 5; forgiven, any
    level from 0 up to the top one)."""
    experiment = channel.experiment
    base, levels = channel.base_resolution, experiment.num_hierarchy_levels
    if not re.fullmatch(r"\d", text or ""):
        raise errors.BossError(errors.TYPE_ERROR, f"Invalid resolution {text!r}: expected a single digit.")
    r = int(text)
    low = base if strict(5) else 0
    if not low <= r < base + levels:
        raise errors.BossError(
            errors.TYPE_ERROR, f"Invalid resolution {r}: this channel has resolutions {low} to {base + levels - 1}."
        )
    return r


def _parse_range(text, axis, code=errors.INVALID_CUTOUT_ARGS):
    match = RANGE_RE.match(text or "")
    if not match:
        raise errors.BossError(code, f"Incorrect cutout arguments: {axis} range {text!r} is not start:stop.")
    start, stop = int(match.group(1)), int(match.group(2))
    if stop <= start:
        raise errors.BossError(code, f"Incorrect cutout arguments: {axis} range {start}:{stop} is empty or reversed.")
    return start, stop


def allowed_bounds(channel, r):
    """The [start, stop) a request at level r may ask for: BOSS's set_cutoutargs compares with the level-0
    frame at every resolution (behaviour 2; forgiven, with the level's own bounds)."""
    experiment = channel.experiment
    frame = experiment.coord_frame
    if strict(2):
        return {"x": (frame.x_start, frame.x_stop), "y": (frame.y_start, frame.y_stop),
                "z": (frame.z_start, frame.z_stop)}
    return level_bounds(frame, r, experiment.hierarchy_method)


def _box(channel, r_text, x, y, z, t):
    experiment = channel.experiment
    r = _resolution(channel, r_text)
    bounds = allowed_bounds(channel, r)
    where = "in the level-0 frame, at every resolution" if strict(2) else f"at resolution {r}"
    ranges = {}
    for axis, text in (("x", x), ("y", y), ("z", z)):
        start, stop = _parse_range(text, axis)
        lo, hi = bounds[axis]
        if start < lo or stop > hi:
            raise errors.BossError(
                errors.INVALID_CUTOUT_ARGS,
                f"Incorrect cutout arguments {r}/{x}/{y}/{z}: {axis} range {start}:{stop} is outside the frame; "
                f"{where} {axis} must be within {lo}:{hi}.",
            )
        ranges[axis] = (start, stop)
    if t is None:
        ts = channel.default_time_sample
        return Box(r, ranges["x"], ranges["y"], ranges["z"], (ts, ts + 1), False)
    t_range = _parse_range(t, "t", code=errors.INVALID_URL)
    if t_range[1] > experiment.num_time_samples:
        raise errors.BossError(
            errors.INVALID_URL,
            f"Invalid time range {t_range[0]}:{t_range[1]}: this experiment has time samples "
            f"0:{experiment.num_time_samples}.",
        )
    return Box(r, ranges["x"], ranges["y"], ranges["z"], t_range, True)


def _check_size(channel, box):
    nbytes = math.prod(box.shape) * np.dtype(channel.datatype).itemsize
    if channel.datatype == "uint64":
        nbytes //= 4  # BOSS's is_too_large divides 64-bit channels by 4 (boss-api.md 5.5)
    if nbytes > settings.DEVBOSS_CUTOUT_MAX_BYTES:
        raise errors.BossError(
            errors.REQUEST_TOO_LARGE, "Cutout request is over 500MB when uncompressed. Reduce cutout dimensions."
        )


def voxels(channel, box):
    """The (T, Z, Y, X) voxels of a validated box, as BOSS would return them (devboss.api.reader)."""
    return reader.read(channel, box.r, box.x, box.y, box.z, box.t)


def cost(channel, box):
    """BOSS's throttle cost of a request: x * y * z * t * bits / 8 bytes."""
    return math.prod(box.shape) * np.dtype(channel.datatype).itemsize


def _filter_ids(channel, request):
    text = request.GET.get("filter")
    if text is None:
        return None
    if channel.type != "annotation":
        raise errors.BossError(errors.DATATYPE_NOT_SUPPORTED, "The filter option is only for annotation channels.")
    parts = [p for p in text.split(",") if p.strip()]
    if not parts or not all(ID_RE.match(p.strip()) for p in parts):
        raise errors.BossError(
            errors.INVALID_CUTOUT_ARGS, f"Invalid filter {text!r}: expected comma-separated integer ids."
        )
    ids = [int(p) for p in parts]
    if max(ids) >= 2**64:
        raise errors.BossError(errors.INVALID_CUTOUT_ARGS, "Invalid filter: ids must fit in 64 bits.")
    return np.array(ids, dtype=np.uint64)


def _member(arr, ids):
    """np.isin, but a few comparisons beat its sort for the short id lists clients send."""
    if len(ids) > 16:
        return np.isin(arr, ids)
    mask = arr == ids[0]
    for i in ids[1:]:
        mask |= arr == i
    return mask


def _media_type(request):
    """The cutout renderer for the Accept header (q-values honoured). None fits: 406 JSON, or, as on BOSS
    (behaviour 1), DRF's NotAcceptable rendered by the first renderer (blosc): a 500 page; `text/html` is
    DRF's browsable API there."""
    header = request.META.get("HTTP_ACCEPT", "").strip()
    real = strict(1)
    if not header:
        return MEDIA[0]
    offers = []
    for i, part in enumerate(header.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            offers.append((-q, i, media.lower()))
    for _, _, media in sorted(offers):
        if media in MEDIA or (real and media == "text/html"):
            return media
        if media in WILDCARDS:
            return WILDCARDS[media]
    if real:
        raise realboss.DrfError(406, "Could not satisfy the request Accept header.")
    raise errors.BossError(errors.BAD_REQUEST, "Could not satisfy the request Accept header.", 406)


def _check_renderable(channel, box, media):
    if media == "application/json" and math.prod(box.shape) > JSON_LIMIT and forgiven(10):
        raise errors.BossError(
            errors.REQUEST_TOO_LARGE, f"JSON cutouts are limited to {JSON_LIMIT} voxels: use application/blosc."
        )
    if media != "image/jpeg":
        return
    if channel.datatype != "uint8":
        raise errors.BossError(
            errors.DATATYPE_DOES_NOT_MATCH, "The cutout service JPEG interface only supports uint8 image data"
        )
    if box.four_d:
        raise errors.BossError(errors.UNSUPPORTED_4D, "The cutout service JPEG interface does not support 4D cutouts")
    if box.shape[1] * box.shape[2] > JPEG_LIMIT:
        raise errors.BossError(
            errors.DATA_DIMENSION_MISMATCH, f"A JPEG cutout may be at most {JPEG_LIMIT} pixels high (z span x y span)."
        )


def _encode(arr, media):
    if media == "application/blosc":
        return blosc.compress(np.ascontiguousarray(arr), typesize=arr.dtype.itemsize * 8)
    if media == "application/blosc-python":
        return blosc.pack_array(np.ascontiguousarray(arr))
    if media == "application/npygz":
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(arr), allow_pickle=False)
        return zlib.compress(buffer.getbuffer(), 1)
    if media == "image/jpeg":
        from PIL import Image

        z, y, x = arr.shape
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(arr).reshape(z * y, x), mode="L").save(buffer, "JPEG", quality=85)
        return buffer.getvalue()
    return json.dumps(arr.tolist()).encode()


def _staff(request):
    user = authenticate(request)
    if not (user.is_authenticated and user.is_staff):
        raise errors.BossError(errors.MISSING_ROLE, "Only staff (admin) may change devboss settings.")
    return user


def _can_add_volume(user, channel):
    if access.is_privileged(user, channel):
        return True
    if not user.is_authenticated:
        return False
    return any("add_volumetric_data" in g.permissions for g in Grant.objects.filter(user=user, channel=channel))


def _json_body(request):
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise errors.BossError(errors.INVALID_POST_ARGUMENT, "The request body is not valid JSON.")


def _guard(view):
    """BossError -> JSON; DRF's own errors -> {"detail": ...}; BOSS's unhandled exceptions -> its HTML 500;
    anything unexpected in devboss -> 500 JSON."""

    def wrapped(request, **kwargs):
        try:
            return view(request, **kwargs)
        except errors.BossError as exc:
            return exc.response()
        except realboss.DrfError as exc:
            return realboss.render_drf_error(exc, "application/json")
        except realboss.ServerError:
            return realboss.server_error()
        except Exception:
            log.exception("devboss volume view failed")
            return errors.error_response(errors.UNHANDLED_EXCEPTION, "Unexpected devboss error.", 500)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def json_route(request):
    """A DRF view with the default renderers: 406 for an Accept they can't satisfy (behaviour 10)."""
    refused = realboss.check_json_accept(request)
    if refused is not None:
        raise _Answer(refused)


class _Answer(Exception):
    def __init__(self, response):
        super().__init__("answered")
        self.response = response


def answers(view):
    """Let a view end early with a ready response (`raise _Answer(response)`)."""

    def wrapped(request, **kwargs):
        try:
            return view(request, **kwargs)
        except _Answer as done:
            return done.response

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def routed(**segments):
    """Segments BOSS's URL patterns would not route get its HTML 404 (behaviour 10)."""
    if not realboss.routes(**segments):
        raise _Answer(realboss.not_found())


def user_of(request):
    """The caller (JSON routes answer a rejected token with devboss's 401 JSON, as they always did)."""
    return authenticate(request)


# ---- views ---------------------------------------------------------------------------------------------


def downsample_info(channel, iso=False):
    """The downsample status document (boss-api.md 6.1): voxel_size, extent, cuboid_size per level 0..N-1
    (whatever the base resolution: behaviour 5). Anisotropic frames with x voxel != y voxel: 400/9001
    (behaviour 7; forgiven, the levels are computed from the x voxel size)."""
    experiment, frame = channel.experiment, channel.experiment.coord_frame
    isotropic = experiment.hierarchy_method == "isotropic"
    if not isotropic and frame.x_voxel_size != frame.y_voxel_size and strict(7):
        raise errors.BossError(
            errors.BOSS_SYSTEM_ERROR,
            "Error while getting downsampled voxel dimensions: X voxel size != Y voxel size. "
            "Currently unable to determine isotropic level",
        )
    ratios = [abs(frame.z_voxel_size / (frame.x_voxel_size * 2**r) - 1) for r in range(30)]
    iso_level = ratios.index(min(ratios))
    size = [float(frame.x_voxel_size), float(frame.y_voxel_size), float(frame.z_voxel_size)]
    extent = [frame.x_stop, frame.y_stop, frame.z_stop]
    voxel_size, extents, cuboids = {}, {}, {}
    for r in range(experiment.num_hierarchy_levels):
        if r > 0:
            halve_z = isotropic or (iso and r > iso_level)
            size = [size[0] * 2, size[1] * 2, size[2] * 2 if halve_z else size[2]]
            extent = [-(-extent[0] // 2), -(-extent[1] // 2), -(-extent[2] // 2) if halve_z else extent[2]]
        voxel_size[str(r)], extents[str(r)], cuboids[str(r)] = list(size), list(extent), list(CUBOID)
    return {
        "status": channel.downsample_status,
        "num_hierarchy_levels": experiment.num_hierarchy_levels,
        "voxel_size": voxel_size,
        "extent": extents,
        "cuboid_size": cuboids,
    }


@_guard
@answers
def downsample(request, c, e, ch):
    """GET the downsample status of a channel (POST/DELETE are not needed by the portal)."""
    routed(names=(c, e, ch))
    json_route(request)
    _only_get(request)
    channel = access.get_volume_channel(user_of(request), c, e, ch)
    iso = request.GET.get("iso", "false").lower() == "true"
    return JsonResponse(downsample_info(channel, iso))


def _annotation_channel(request, c, e, ch, strict_ids=False):
    channel = access.get_volume_channel(user_of(request), c, e, ch, strict=strict_ids)
    if channel.type != "annotation":
        raise errors.BossError(errors.DATATYPE_NOT_SUPPORTED, "This operation is only for annotation channels.")
    return channel


@_guard
@answers
def ids(request, c, e, ch, r, x, y, z, t=None):
    """GET the ids present in a region, as strings, without 0 (boss-api.md 8). Like BOSS's Ids view: time
    sample 0 whatever the URL says; from the index over whole cuboids (none where the channel has no index:
    behaviour 8) and from the voxels of the partial cuboids at the region's edges."""
    routed(names=(c, e, ch), r=r, ranges=(x, y, z), t=t)
    json_route(request)
    _only_get(request)
    channel = _annotation_channel(request, c, e, ch, strict_ids=True)
    box = _box(channel, r, x, y, z, t)
    _check_size(channel, box)
    found = reader.region_ids(channel, box.r, box.x, box.y, box.z)
    return JsonResponse({"ids": [str(int(i)) for i in found if i != 0]})


def _stored_object_box(channel, level, obj_id):
    stored = np.load(volumes.level_path(channel.volume_path, level), mmap_mode="r")
    origin = json.loads((Path(channel.volume_path) / volumes.META).read_text())["origin"][str(level)]
    hits = np.nonzero(stored == np.uint64(obj_id))
    if not len(hits[0]):
        return None
    zs, ys, xs = hits
    return tuple((o + int(a.min()), o + int(a.max()) + 1) for a, o in zip((xs, ys, zs), origin))


def _clip(box, bounds):
    clipped = []
    for (a, b), (lo, hi) in zip(box, bounds):
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            return None
        clipped.append((a, b))
    return clipped


def _loosen(box):
    return [(a // c * c, -(-b // c) * c) for (a, b), c in zip(box, CUBOID)]


def _union(a, b):
    if a is None or b is None:
        return a or b
    return [(min(p, r), max(q, s)) for (p, q), (r, s) in zip(a, b)]


def _object_box(channel, level, obj_id):
    """The object's tight box at `level` from its geometry (procedural or stored) and the writes."""
    experiment = channel.experiment
    box = None
    if channel.source == "stored" and channel.volume_path:
        box = _stored_object_box(channel, level, obj_id)
    elif channel.source == "procedural":
        box = procedural.object_box(_key(channel), obj_id, level, experiment.hierarchy_method)
    bounds = level_bounds(experiment.coord_frame, level, experiment.hierarchy_method)
    box = box and _clip(box, (bounds["x"], bounds["y"], bounds["z"]))
    return _union(box, writes.object_box(channel, level, obj_id))


@_guard
@answers
def boundingbox(request, c, e, ch, r, obj_id):
    """GET an object's bounding box: loose (cuboid-aligned) or tight. From the index: a channel without one
    knows no objects (behaviour 8: 404/4004)."""
    routed(names=(c, e, ch), r=r, number=obj_id)
    json_route(request)
    _only_get(request)
    kind = request.GET.get("type", "loose")
    if kind not in ("loose", "tight"):
        raise errors.BossError(errors.INVALID_ARGUMENT, f"Invalid bounding box type {kind!r}: use loose or tight.")
    channel = _annotation_channel(request, c, e, ch)
    level = _resolution(channel, r)
    if not ID_RE.match(obj_id) or int(obj_id) >= 2**64:
        raise errors.BossError(errors.INVALID_ARGUMENT, f"Invalid object id {obj_id!r}.")
    box = None
    if channel.object_index or forgiven(8):
        box = _object_box(channel, level, int(obj_id))
    if box is None:
        # (BOSS's message is "The id does not exist. <id>"; devboss keeps its own, which clients already show.)
        raise errors.BossError(errors.OBJECT_NOT_FOUND, f"Object {obj_id} not found at resolution {level}.")
    if kind == "loose":
        box = _loosen(box)
    (x, y, z) = box
    return JsonResponse({"x_range": list(x), "y_range": list(y), "z_range": list(z), "t_range": [0, 1]})


@_guard
@answers
def reserve(request, c, e, ch, n):
    """GET reserves n sequential ids, never reused (needs add_volumetric_data)."""
    routed(names=(c, e, ch), number=n)
    json_route(request)
    _only_get(request)
    user = user_of(request)
    channel = access.get_channel(user, c, e, ch)
    if not _can_add_volume(user, channel):
        raise errors.BossError(errors.MISSING_PERMISSION, "This user does not have the required permissions")
    if channel.type != "annotation":
        raise errors.BossError(errors.DATATYPE_NOT_SUPPORTED, "Ids can only be reserved on annotation channels.")
    if not ID_RE.match(n) or int(n) < 1:
        raise errors.BossError(errors.INVALID_ARGUMENT, f"Invalid number of ids {n!r}: expected a positive integer.")
    with transaction.atomic():
        # Procedural objects use ids below 2**33; reserved ones start above them.
        first = 2**33 if channel.source == "procedural" else 1
        row, _ = ReservedIds.objects.select_for_update().get_or_create(channel=channel, defaults={"next_id": first})
        start = row.next_id
        row.next_id = start + int(n)
        row.save(update_fields=["next_id"])
    return JsonResponse({"start_id": start, "count": n})


# ---- devboss's own routes ------------------------------------------------------------------------------


@_guard
def faults(request):
    """GET the fault settings; POST JSON overrides (staff); DELETE restores the defaults (staff)."""
    if request.method == "GET":
        return JsonResponse(injection.current())
    _staff(request)
    if request.method == "POST":
        return JsonResponse(injection.update(injection.validate(_json_body(request))))
    if request.method == "DELETE":
        return JsonResponse(injection.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)


@_guard
def stats(request):
    """GET cutout requests served per channel ("c/e/ch"), counted across all workers; DELETE resets."""
    if request.method == "DELETE":
        return JsonResponse(injection.reset_stats())
    _only_get(request)
    return JsonResponse(injection.stats())


@_guard
def forgive(request):
    """GET which real-BOSS behaviours are switched off; POST {"forgive": [1, 6]} (or "1,6", "all", []) replaces
    the list (staff); DELETE goes back to env DEVBOSS_FORGIVE (staff)."""
    if request.method == "GET":
        return JsonResponse(realboss.describe())
    _staff(request)
    if request.method == "POST":
        body = _json_body(request)
        if not isinstance(body, dict) or set(body) != {"forgive"}:
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, 'Expected {"forgive": [behaviour numbers]}.')
        try:
            return JsonResponse(realboss.set_forgiven(body["forgive"]))
        except ValueError as exc:
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, str(exc)) from None
    if request.method == "DELETE":
        return JsonResponse(realboss.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)


@_guard
def throttling(request):
    """GET the byte quotas and this period's usage; POST changes them (staff; devboss.api.throttle);
    DELETE drops every run-time limit and all usage (staff)."""
    if request.method == "GET":
        return JsonResponse(throttle.describe())
    _staff(request)
    if request.method == "POST":
        return JsonResponse(throttle.update(_json_body(request)))
    if request.method == "DELETE":
        return JsonResponse(throttle.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)
