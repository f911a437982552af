"""Volume endpoints: downsample, ids, boundingbox, reserve (boss-api.md sections 6, 8), and the view
wrappers they share with devboss's own routes (devboss.api.views_devboss). The request validation they share
with the cutout service is in devboss.api.volume_requests.

Failures are BOSS's JSON error ({"status", "code", "message"}), except where the real BOSS answers otherwise
(devboss.api.realboss: HTML 404 for segments its URL patterns would not route, HTML 500 for its unhandled
exceptions, DRF's {"detail": ...} for 406).
"""
import json
import logging
from pathlib import Path

import numpy as np
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, procedural, reader, realboss, volumes, writes
from .auth import authenticate
from .models import ReservedIds
from .reader import key as _key
from .reader import level_bounds
from .realboss import forgiven, strict
from .volume_requests import ID_RE, _box, _can_add_volume, _check_size, _resolution

log = logging.getLogger(__name__)

CUBOID = (512, 512, 16)


# ---- helpers -------------------------------------------------------------------------------------------


def _only_get(request):
    if request.method not in ("GET", "HEAD"):
        raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported on this devboss route.", 405)


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
