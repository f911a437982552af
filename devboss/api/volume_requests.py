"""Request validation shared by the cutout service (devboss.api.views_cutout) and the volume views
(devboss.api.views_volume): the validated Box, resolution and range checks, the size limit, the annotation id
filter, Accept negotiation and the renderers, and the add_volumetric_data check.

Ranges are matched loosely by the URL patterns and validated here.
"""
import io
import json
import math
import re
import zlib
from dataclasses import dataclass

import blosc
import numpy as np
from django.conf import settings

from . import access, errors, reader, realboss
from .models import Grant
from .reader import level_bounds
from .realboss import forgiven, strict

RANGE_RE = re.compile(r"^(\d+):(\d+)$")
ID_RE = re.compile(r"^\d+$")
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
        return blosc.compress(np.ascontiguousarray(arr), typesize=arr.dtype.itemsize * 8,
                              clevel=settings.DEVBOSS_BLOSC_CLEVEL)
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


def _can_add_volume(user, channel):
    if access.is_privileged(user, channel):
        return True
    if not user.is_authenticated:
        return False
    return any("add_volumetric_data" in g.permissions for g in Grant.objects.filter(user=user, channel=channel))
