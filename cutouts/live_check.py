"""The cutout form as the server sees it, for the page and for its live check.

form_context() builds what templates/cutouts/form.html shows (size at every level, the over-cap alternatives,
the recipes, the preview's geometry). live_check() answers the form's script as the user types: the request
runs through the same CutoutRequestSerializer that a submit runs (cutouts.validation.validate), so every
message is worded exactly as the submit would word it, and the size section and the recipes come from the same
templates as the page's first render (the boss-cutout command included).
"""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from bossdb.errors import BossError
from bossdb.geometry import DTYPE_BYTES
from cutouts import estimate, form_recipes, preview
from cutouts.models import FORMATS
from cutouts.pipeline import writers
from cutouts.pipeline.recipes import command_line
from cutouts.validation import AXES, CutoutRequestSerializer, field_errors, finest_fitting, sizes_by_level
from portal.boss import client
from portal.boss.session import session_for
from portal.errors import _status_and_title


BOX_FIELDS = {"collection", "experiment", "channels", "resolution", "x", "y", "z", "t"}


def _level_and_box(data):
    """(resolution, {axis: (lo, hi)}) of the form's fields, or None while they aren't whole numbers."""
    try:
        return int(data["resolution"]), {a: (int(data[a][0]), int(data[a][1])) for a in AXES}
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def size_context(detail, data):
    """The 'size before submit' table for the box in `data`, with what to do over the cap (a coarser level,
    parts, boss-cutout), or None while the box isn't valid yet."""
    parsed = _level_and_box(data)
    if parsed is None:
        return None
    r, box = parsed
    names = [n for n in data.get("channels") or () if isinstance(n, str)]
    if any(lo >= hi for lo, hi in box.values()) or r not in detail.usable(names or None):
        return None
    by_name = {c.name: c for c in detail.channels}
    names = [n for n in dict.fromkeys(names) if n in by_name]
    per_voxel = sum(DTYPE_BYTES.get(by_name[n].datatype, 1) for n in names) or 1
    t_range = _time_range(data)
    times = t_range[1] - t_range[0] if t_range else 1
    rows = sizes_by_level(box, detail.levels, r, per_voxel, times, usable=detail.usable(names or None))
    current = next(row for row in rows if row.resolution == r)
    commands = []
    if not current.fits and names:  # beyond the web cap: the command line downloads any box, resumably
        from cutouts.serializers import DEFAULT_FORMAT

        commands = [command_line(settings.BOSS_URL, detail.experiment.collection, detail.experiment.name,
                                 names, r, box["x"], box["y"], box["z"], t=t_range,
                                 fmt=data.get("format") or DEFAULT_FORMAT, compression=data.get("compression"))]
    return {"rows": rows, "current": current, "best": finest_fitting(rows), "commands": commands,
            "parts_fit": current.nbytes <= settings.CUTOUT_MAX_PARTS_BYTES, "parts": bool(data.get("parts"))}


def compressed_estimate(request, detail, data, errors):
    """The expected size of the result with the chosen (or the format's default) compression, from a sample
    of each channel (cutouts/estimate.py), or None: no compression, a box not valid yet, BOSS failed."""
    from cutouts.serializers import DEFAULT_FORMAT

    fmt = data.get("format") or DEFAULT_FORMAT
    if fmt not in writers.FORMATS or set(errors or ()) & (BOX_FIELDS | {"format", "compression"}):
        return None
    compression = data.get("compression") or writers.FORMATS[fmt].default_compression
    if compression not in writers.FORMATS[fmt].compressions:
        return None
    by_name = {c.name: c for c in detail.channels}
    names = [n for n in dict.fromkeys(data.get("channels") or ()) if isinstance(n, str) and n in by_name]
    parsed = _level_and_box(data)
    if parsed is None:
        return None
    resolution, box = parsed
    t_range = _time_range(data)
    found = estimate.estimate(session_for(request.user), request.user, detail.experiment.collection,
                              detail.experiment.name, [(n, by_name[n].datatype) for n in names], resolution, box,
                              t_range[1] - t_range[0] if t_range else 1, fmt, compression)
    return found and {**found, "compression": compression}


def _time_range(data):
    try:
        t = [int(v) for v in data.get("t") or ()]
    except (TypeError, ValueError):
        return None
    return t if len(t) == 2 and t[0] < t[1] else None


def physical(detail, data):
    """Each axis's range in physical units at the chosen level ('2,048 – 6,144'), as form.js shows it; nothing for
    a range out of order or outside what the level holds (the field's message says why)."""
    try:
        level = detail.level(int(data["resolution"]))
        voxel, bounds = level.voxel_size, level.bounds
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}
    out = {}
    for i, axis in enumerate(AXES):
        try:
            lo, hi = (int(str(v).strip()) for v in data[axis])
        except (KeyError, TypeError, ValueError):
            continue
        if bounds and bounds[i][0] <= lo < hi <= bounds[i][1]:
            out[axis] = f"{lo * voxel[i]:,g} – {hi * voxel[i]:,g}"
    return out


def script_data(detail, chosen):
    """What form.js and beyond.js need: the levels BOSS serves for the chosen channels, the cap, and per
    channel the level and x/y extent of its preview image (the picture the box is drawn on)."""
    usable = detail.usable(chosen or None)
    levels = [{"resolution": lv.resolution, "voxel_size": list(lv.voxel_size),
               "start": [b[0] for b in lv.bounds], "stop": [b[1] for b in lv.bounds]}
              for lv in (detail.levels or []) if lv.resolution in usable]
    previews = {}
    for ch in detail.channels:
        served = [detail.level(r) for r in detail.usable([ch.name])]
        if served:
            lv = preview.preview_level(served)
            previews[ch.name] = {"resolution": lv.resolution, "voxel_size": list(lv.voxel_size),
                                 "x": list(lv.bounds[0]), "y": list(lv.bounds[1])}
    return {"levels": levels, "max_bytes": settings.CUTOUT_MAX_BYTES, "previews": previews,
            "dtypes": {c.name: c.datatype for c in detail.channels}}


def form_context(request, detail, data, errors):
    """The context of templates/cutouts/form.html for the request dict `data` and its `errors`."""
    chosen = data.get("channels") or None
    usable = detail.usable(chosen)
    choices = [{"level": lv, "usable": lv.resolution in usable,
                "note": "" if lv.resolution in usable else detail.why_not(lv.resolution, chosen)}
               for lv in (detail.levels or [])]
    return {
        "detail": detail,
        "exp": detail.experiment,
        "frame": detail.frame,
        "collection": detail.experiment.collection,
        "data": data,
        "errors": errors,
        "formats": FORMATS,
        "level_choices": choices,
        "size": size_context(detail, data) if detail.levels else None,
        "compressed": compressed_estimate(request, detail, data, errors) if detail.levels else None,
        "physical": physical(detail, data) if detail.levels else {},
        "levels_json": script_data(detail, chosen),
        # A recipe for a box BOSS refuses (outside the frame, no such level or channel) couldn't run as printed.
        "recipes": None if BOX_FIELDS & set(errors or ()) else
        form_recipes.recipe_context(data, request.build_absolute_uri("/"), detail),
        "max_bytes": settings.CUTOUT_MAX_BYTES,
        "max_parts_bytes": settings.CUTOUT_MAX_PARTS_BYTES,
    }


def check(user, data):
    """({field: message}, the serializer's ExperimentDetail or None): the submit's own verdict, without saving."""
    serializer = CutoutRequestSerializer(data=data, context={"user": user})
    errors = {} if serializer.is_valid() else field_errors(serializer.errors)
    return errors, getattr(serializer, "detail", None)


@require_safe
@login_required
def live_check(request, collection, experiment):
    """GET with the form's fields: {"errors": {field: message}, "size": html, "recipes": html, "physical"}."""
    data = form_recipes.request_data(request.GET, collection, experiment)
    try:
        errors, detail = check(request.user, data)
    except BossError as exc:
        status, title = _status_and_title(exc)
        return JsonResponse({"errors": {"boss": f"{title}: {exc.message}"}}, status=status)
    if detail is None:  # no such experiment, or not readable: nothing else to show
        return JsonResponse({"errors": errors})
    context = form_context(request, detail, data, errors)
    return JsonResponse({
        "errors": errors,
        "size": render_to_string("cutouts/_size.html", context, request=request),
        "recipes": render_to_string("cutouts/_recipes.html", context, request=request),
        "physical": context["physical"],
    })
