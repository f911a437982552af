"""A small PNG of a box before the user waits for the cutout: the box's middle z slice (or its maximum
projection when the box is thin) of the whole section at a coarse level, the box drawn on it in red.

ONE BOSS cutout request per preview (bossdb.read_cutout), cached per caller kind and request.
"""
import hashlib
import io
import json

import numpy as np
from django.core.cache import cache
from django.http import HttpResponse
from PIL import Image, ImageDraw

import bossdb

from cutouts.validation import AXES, scale_box
from portal.boss import client
from bossdb.errors import BossError, LoginRequired
from portal.boss.session import session_for
from portal.errors import _status_and_title

PREVIEW_PIXELS = 512  # the section should fit in about this many pixels
MAX_PIXELS = 2048  # refuse a preview when even the coarsest level is larger than this
PROJECT_SLICES = 16  # thinner boxes are shown as a maximum projection
CACHE_SECONDS = 600
BOX_COLOUR = (255, 0, 0)


class PreviewInvalid(Exception):
    pass


def preview_level(levels):
    """The finest level whose served x/y section fits in PREVIEW_PIXELS (else the coarsest one)."""
    ordered = sorted(levels, key=lambda lv: lv.resolution)
    for level in ordered:
        if max(level.servable_size[0], level.servable_size[1]) <= PREVIEW_PIXELS:
            return level
    return ordered[-1]


def _stretch(section):
    """1st-99th percentile contrast stretch to uint8."""
    values = section.astype(np.float64)
    lo, hi = np.percentile(values, [1, 99])
    if hi <= lo:
        hi = lo + 1
    return (np.clip((values - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def render_preview(session, detail, collection, channel, resolution, box, project=True, outline=True):
    """PNG bytes: the whole section at the preview level, with `box` (voxels at `resolution`) drawn.

    project=False reads one slice even of a thin box: anonymous visitors share BOSS's public quota, so their
    previews stay at one section of at most PREVIEW_PIXELS (else the coarsest level) per request.
    outline=False leaves the box out: the form's script draws it over the picture itself, so moving the box in
    x and y needs no new picture (and no new BOSS request)."""
    by_name = {c.name: c for c in detail.channels}
    if channel not in by_name or not detail.levels:
        raise PreviewInvalid("unknown channel, or no resolution levels")
    if detail.level(resolution) is None:
        raise PreviewInvalid("unknown resolution level")
    usable = [detail.level(r) for r in detail.usable([channel])]
    if not usable:
        raise PreviewInvalid("BOSS serves no level of this channel")
    level = preview_level(usable)
    if max(level.servable_size[0], level.servable_size[1]) > MAX_PIXELS:
        raise PreviewInvalid("the section is too large for a preview")
    small = scale_box(box, detail.levels, resolution, level.resolution)
    z0, z1 = small["z"]
    if z1 - z0 > PROJECT_SLICES or not project:
        z0 = (z0 + z1) // 2
        z1 = z0 + 1
    x, y = level.bounds[0], level.bounds[1]
    data = bossdb.read_cutout(session, collection, detail.experiment.name, channel, by_name[channel].datatype,
                              level.resolution, x, y, (z0, z1))
    image = Image.fromarray(_stretch(data.max(axis=0)), "L").convert("RGB")
    if outline:
        _outline(image, small, x, y)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _outline(image, small, x, y):
    """The box in red on the section (whose corner is x[0], y[0] at the preview level)."""
    draw = ImageDraw.Draw(image)
    (bx0, bx1), (by0, by1) = small["x"], small["y"]
    draw.rectangle((bx0 - x[0], by0 - y[0], max(bx1 - x[0] - 1, bx0 - x[0]), max(by1 - y[0] - 1, by0 - y[0])),
                   outline=BOX_COLOUR, width=2 if min(bx1 - bx0, by1 - by0) > 4 else 1)


def error_png(message, status):
    image = Image.new("RGB", (320, 40), (240, 240, 240))
    ImageDraw.Draw(image).text((6, 14), message[:52], fill=(160, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return HttpResponse(out.getvalue(), content_type="image/png", status=status)


def _request_of(query):
    """(channel, resolution, box) from the query string, or raise PreviewInvalid."""
    channels = query.getlist("channels")
    try:
        resolution = int(query.get("resolution", 0))
        box = {a: (int(query[f"{a}0"]), int(query[f"{a}1"])) for a in AXES}
    except (KeyError, ValueError):
        raise PreviewInvalid("the box needs whole numbers x0..z1") from None
    if not channels or any(lo >= hi or abs(lo) > 2**40 or abs(hi) > 2**40 for lo, hi in box.values()):
        raise PreviewInvalid("choose a channel and a non-empty box")
    return channels[0], resolution, box


def cache_key(user, collection, experiment, channel, resolution, box, outline=True):
    """Per caller kind (the public token, or one user's own credential) and request; never a token."""
    who = f"user:{user.pk}" if user.is_authenticated else "public"
    raw = json.dumps([who, collection, experiment, channel, resolution, sorted(box.items()), outline])
    return "cutout-preview:" + hashlib.sha256(raw.encode()).hexdigest()


def preview(request, collection, experiment):
    try:
        channel, resolution, box = _request_of(request.GET)
    except PreviewInvalid as exc:
        return error_png(str(exc), 400)
    outline = request.GET.get("outline") != "0"
    key = cache_key(request.user, collection, experiment, channel, resolution, box, outline)
    png = cache.get(key)
    if png is None:
        try:
            detail = client.get_experiment_detail(request.user, collection, experiment)
            png = render_preview(session_for(request.user), detail, collection, channel, resolution, box,
                                 project=request.user.is_authenticated, outline=outline)
        except PreviewInvalid as exc:
            return error_png(str(exc), 400)
        except LoginRequired:
            return error_png("Log in to see a preview of this data.", 401)
        except BossError as exc:
            status, title = _status_and_title(exc)
            return error_png(title, status)
        cache.set(key, png, CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response
