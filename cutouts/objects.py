"""Cut out around an object (annotation channels): "objects in this box" and "cut out object N, padded".

Both read the cutout form's fields (its buttons post here with formaction) or a query string, ask BOSS
through portal.boss.objects, and either list the ids or send the form back pre-filled with the object's
tight bounding box, padded and clipped to the frame, and the experiment's image channels.
"""
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from cutouts.forms import parse_form
from cutouts.validation import AXES, WHOLE_NUMBER, level_box
from portal.boss import client, objects
from bossdb.errors import BossBadRequest, BossNotFound

LIST_CAP = 1000  # ids shown on the page (and in JSON); the count says how many BOSS found
DEFAULT_PAD = 16
MAX_PAD = 4096


def annotation_channels(detail):
    return [c for c in detail.channels if c.type == "annotation"]


def _number(value, default=None):
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, "") and default is not None:
        return default
    if not isinstance(value, str) or not WHOLE_NUMBER.fullmatch(value):
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def _request(request, detail):
    """(annotation channel, resolution, pad, source QueryDict) from the form's POST or the query string."""
    source = request.POST if request.method == "POST" else request.GET
    names = [c.name for c in annotation_channels(detail)]
    channel = source.get("annotation") or (names[0] if names else "")
    if channel not in names:
        raise ValueError(f"{channel or 'this experiment'} is not an annotation channel" if channel
                         else "this experiment has no annotation channel")
    resolution = _number(source.get("resolution"), 0)
    if resolution not in detail.usable([channel]):
        raise ValueError(f"level {resolution} can't be read: {detail.why_not(resolution, [channel]) or 'no such level'}")
    pad = min(max(_number(source.get("pad"), DEFAULT_PAD), 0), MAX_PAD)
    return channel, resolution, pad, source


def _problem(request, collection, experiment, message, status=400):
    if request.GET.get("output") == "json":
        return JsonResponse({"error": message}, status=status)
    back = reverse("cutout-form", args=[collection, experiment])
    return render(request, "cutouts/objects.html", {"collection": collection, "experiment": experiment,
                                                     "error": message, "back_url": back}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def objects_in_box(request, collection, experiment):
    detail = client.get_experiment_detail(request.user, collection, experiment)
    try:
        channel, resolution, pad, source = _request(request, detail)
        data = parse_form(source, collection, experiment)
        box = {a: (_number(data[a][0]), _number(data[a][1])) for a in AXES}
        for a, (lo, hi) in level_box(detail.levels, resolution).items():
            if not lo <= box[a][0] < box[a][1] <= hi:
                raise ValueError(f"{a} must lie within {lo}:{hi} at level {resolution}")
        ids, found_in = objects.ids_in_box(request.user, collection, experiment, channel, resolution,
                                           box["x"], box["y"], box["z"])
    except (ValueError, BossBadRequest) as exc:
        return _problem(request, collection, experiment, getattr(exc, "message", None) or str(exc))
    if request.GET.get("output") == "json":
        return JsonResponse({"channel": channel, "resolution": resolution, "count": len(ids),
                             "ids": [str(i) for i in ids[:LIST_CAP]], "capped": len(ids) > LIST_CAP,
                             "source": found_in})
    query = urlencode([("channels", c) for c in data["channels"]] + [("resolution", resolution)] +
                      [(f"{a}{i}", box[a][i]) for a in AXES for i in (0, 1)] + [("format", data["format"])])
    context = {"collection": collection, "experiment": experiment, "channel": channel, "resolution": resolution,
               "pad": pad, "ids": ids[:LIST_CAP], "count": len(ids), "capped": len(ids) > LIST_CAP,
               "source": found_in,
               "box": box, "back_url": reverse("cutout-form", args=[collection, experiment]) + "?" + query}
    return render(request, "cutouts/objects.html", context)


def object_query(detail, channel, resolution, bbox, pad):
    """The form's query string for the object's box, padded and clipped, with the experiment's image
    channels and the annotation channel (one grid), as one OME-TIFF when they share a dtype."""
    bounds = level_box(detail.levels, resolution)
    box = {a: (max(lo - pad, bounds[a][0]), min(hi + pad, bounds[a][1]))
           for a, (lo, hi) in zip(AXES, (bbox.x, bbox.y, bbox.z))}
    channels = [c for c in detail.channels if c.type == "image"] + [
        c for c in detail.channels if c.name == channel]
    fmt = "ome-tiff" if len({c.datatype for c in channels}) == 1 else "tiff-zip"
    return urlencode([("channels", c.name) for c in channels] + [("resolution", resolution)] +
                     [(f"{a}{i}", box[a][i]) for a in AXES for i in (0, 1)] + [("format", fmt)])


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def cut_out_object(request, collection, experiment):
    detail = client.get_experiment_detail(request.user, collection, experiment)
    try:
        channel, resolution, pad, source = _request(request, detail)
        obj_id = _number(source.get("object"))
        if not 0 < obj_id < 2**64:
            raise ValueError("an object id is a positive 64-bit number")
    except ValueError as exc:
        return _problem(request, collection, experiment, str(exc))
    try:
        bbox = objects.bounding_box(request.user, collection, experiment, channel, resolution, obj_id, "tight")
    except (BossNotFound, BossBadRequest) as exc:  # "Object 7 not found at resolution 2.": say it here
        return _problem(request, collection, experiment, exc.message, status=exc.status)
    query = object_query(detail, channel, resolution, bbox, pad)
    keep = urlencode({"object": obj_id, "pad": pad, "annotation": channel})  # the section shows them again
    return redirect(reverse("cutout-form", args=[collection, experiment]) + f"?{query}&{keep}")
