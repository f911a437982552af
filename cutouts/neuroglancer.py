"""From the viewer to the form: read a pasted Neuroglancer (or old ndviz) link into a cutout request.

Two steps, both total functions (they return messages, never raise on bad input):
- `read_link(text)` -> Link: the BOSS layers (collection, experiment, channels), a box in the state's own
  coordinates (a bounding-box annotation, or else the visible view plus a depth in z), and the state's
  `dimensions` (metres per coordinate unit).
- `to_request(link, detail)` -> (request dict, messages): the resolution level whose voxel size matches
  the dimensions, and the box converted to voxels at that level, clipped to the level's bounds.

Accepted input: any viewer URL with `#!` and URL-quoted JSON, ndviz's single-quote form
(`#!{'layers':{...}_'navigation':...}`, `_` for `,` outside strings), the raw state JSON, or (with a
resolver) a state stored at a URL: `#!https://<portal>/s/<slug>.json` or the short link itself.
Reference: /work/shared/boss-api.md section 11; portal/ngstate.py writes the states we read back here.
"""
import json
import math
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode

from cutouts.pipeline.spec import ChannelSpec
from cutouts.pipeline.writers import FORMATS
from portal.ngstate import METRES_PER_UNIT, PANEL_PIXELS

AXES = ("x", "y", "z")
DEFAULT_DEPTH = 16
MAX_COORD = 2**40  # same sanity bound as cutouts.validation
MAX_TEXT = 1_000_000
BOSS_SOURCE = re.compile(r"^boss://(https?://[^/?]+)/([^/?]+)/([^/?]+)(?:/([^/?]+))?/?(?:\?.*)?$")
UNIT_METRES = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9, "pm": 1e-12}


@dataclass
class Link:
    collection: str = ""
    experiment: str = ""
    channels: list = field(default_factory=list)
    hosts: set = field(default_factory=set)
    box: dict = None  # {"x": (lo, hi), ...} in the state's coordinates
    from_annotation: bool = False
    metres: dict = None  # {"x": metres per coordinate unit, ...}, None when the state gives none
    messages: list = field(default_factory=list)


# --- Reading the text ------------------------------------------------------------------------------------

def _ndviz_to_json(text):
    """ndviz's URL-safe form: single quotes delimit strings, `_` stands for `,` outside strings."""
    out, quote_char, i = [], None, 0
    while i < len(text):
        c = text[i]
        if quote_char:
            if c == "\\" and i + 1 < len(text):
                out.append(text[i:i + 2])
                i += 2
                continue
            if c == quote_char:
                out.append('"')
                quote_char = None
            elif c == '"':
                out.append('\\"')
            else:
                out.append(c)
        elif c in "'\"":
            quote_char = c
            out.append('"')
        elif c == "_":
            out.append(",")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def read_state(text, resolve=None):
    """(state dict or None, messages) from a pasted URL or JSON.

    `resolve(url)` -> (state or None, messages) or None looks up a state stored at a URL (Neuroglancer's
    `#!https://...` form, or the URL pasted alone): the paste view passes one that knows the portal's own
    short links (cutouts.shortlinks.stored_state). Nothing here fetches a URL."""
    if not isinstance(text, str) or not text.strip():
        return None, ["Paste a Neuroglancer link or its JSON state."]
    text = text.strip()
    if len(text) > MAX_TEXT:
        return None, ["That link is too long to read."]
    if not text.startswith("{"):
        if "#!" not in text:
            found = resolve(text) if resolve and re.match(r"^https?://", text) else None
            if found is not None:
                return found
            return None, ["That is not a Neuroglancer link: it has no '#!' followed by a state."]
        text = text.split("#!", 1)[1]
        if not text.startswith("{"):
            text = unquote(text)
        if re.match(r"^https?://", text):
            found = resolve(text) if resolve else None
            if found is not None:
                return found
            return None, ["This link points at a state stored elsewhere (" + text[:200] + "); paste the "
                          "address Neuroglancer shows once it has loaded it."]
    candidates = [text]
    if "%" in text:
        candidates.append(unquote(text))
    for candidate in candidates:
        for attempt in (candidate, _ndviz_to_json(candidate)):
            try:
                state = json.loads(attempt, parse_constant=lambda c: float("nan"))
            except (ValueError, RecursionError):
                continue
            if isinstance(state, dict):
                return state, []
            return None, ["The Neuroglancer state must be a JSON object."]
    return None, ["Could not read the Neuroglancer state: it is not valid JSON."]


# --- Pieces of the state ---------------------------------------------------------------------------------

def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > MAX_COORD:  # float() of a 400-digit int overflows
        return None
    value = float(value)
    if not math.isfinite(value) or abs(value) > MAX_COORD:
        return None
    return value


def _vector(value, n=3):
    if not isinstance(value, (list, tuple)) or len(value) < n:
        return None
    numbers = [_number(v) for v in value[:n]]
    return None if any(v is None for v in numbers) else numbers


def _sources(layer):
    """The source URLs of a layer: a string, {"url": ...}, or a list of either."""
    src = layer.get("source")
    items = src if isinstance(src, list) else [src]
    urls = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("url")
        if isinstance(item, str):
            urls.append(item)
    return urls


def _layers(state, messages):
    layers = state.get("layers")
    if isinstance(layers, dict):  # ndviz and old Neuroglancer: {name: layer}
        layers = [{**layer, "name": name} if isinstance(layer, dict) else layer for name, layer in layers.items()]
    if not isinstance(layers, list):
        messages.append("The state has no layers.")
        return []
    good = [layer for layer in layers if isinstance(layer, dict)]
    if len(good) < len(layers):
        messages.append("Some layers are not objects and were skipped.")
    return good


def _axis_order(state):
    """Names of the state's dimensions, in order, and metres per unit for x, y, z (or None)."""
    dims = state.get("dimensions")
    if isinstance(dims, dict) and dims:
        names = list(dims)
        metres = {}
        for axis in AXES:
            value = dims.get(axis)
            if (isinstance(value, list) and len(value) == 2 and _number(value[0]) and value[0] > 0
                    and value[1] in UNIT_METRES):
                metres[axis] = float(value[0]) * UNIT_METRES[value[1]]
        return names, (metres if len(metres) == 3 else None)
    # Old states: navigation.pose.position.voxelSize in nanometres.
    pose = (state.get("navigation") or {}).get("pose") if isinstance(state.get("navigation"), dict) else None
    position = pose.get("position") if isinstance(pose, dict) else None
    size = _vector(position.get("voxelSize")) if isinstance(position, dict) else None
    if size and all(s > 0 for s in size):
        return list(AXES), dict(zip(AXES, (s * 1e-9 for s in size)))
    return list(AXES), None


def _pick_xyz(vector, names):
    """x, y, z values of a vector given in the state's dimension order."""
    if vector is None:
        return None
    try:
        return [vector[names.index(axis)] for axis in AXES]
    except (ValueError, IndexError):
        return None


def _annotation_box(layers, names, messages):
    boxes = []
    for layer in layers:
        annotations = layer.get("annotations")
        if layer.get("type") != "annotation" or not isinstance(annotations, list):
            continue
        for ann in annotations:
            if isinstance(ann, dict) and ann.get("type") == "axis_aligned_bounding_box":
                a = _pick_xyz(_vector(ann.get("pointA"), len(names)), names)
                b = _pick_xyz(_vector(ann.get("pointB"), len(names)), names)
                if a is None or b is None:
                    messages.append("A bounding box has unreadable corners; skipped.")
                    continue
                boxes.append({axis: (min(lo, hi), max(lo, hi)) for axis, lo, hi in zip(AXES, a, b)})
    if len(boxes) > 1:
        messages.append(f"The state has {len(boxes)} bounding boxes; using the first.")
    return boxes[0] if boxes else None


def _view_box(state, names, depth, messages):
    """The visible cross-section: position ± half a panel at crossSectionScale, `depth` units in z."""
    position = _pick_xyz(_vector(state.get("position"), len(names)), names)
    scale = _number(state.get("crossSectionScale", 1.0))
    nav = state.get("navigation")
    if position is None and isinstance(nav, dict):  # old form
        pose = nav.get("pose") if isinstance(nav.get("pose"), dict) else {}
        pos = pose.get("position") if isinstance(pose.get("position"), dict) else {}
        position = _vector(pos.get("voxelCoordinates"))
        zoom, size = _number(nav.get("zoomFactor")), _vector(pos.get("voxelSize"))
        scale = zoom / size[0] if zoom and size and size[0] > 0 else 1.0
    if position is None:
        messages.append("The state has neither a bounding box nor a readable position; enter the box by hand.")
        return None
    if scale is None or scale <= 0:
        messages.append("The state's zoom (crossSectionScale) is unreadable; using 1.")
        scale = 1.0
    half = PANEL_PIXELS / 2 * scale
    return {"x": (position[0] - half, position[0] + half), "y": (position[1] - half, position[1] + half),
            "z": (position[2] - depth / 2, position[2] + depth / 2)}


def read_link(text, depth=DEFAULT_DEPTH, resolve=None):
    """The BOSS layers, box and dimensions of a pasted link. Never raises on bad input."""
    try:
        return _read_link(text, depth, resolve)
    except Exception:  # a last guard: malformed input must become a message, not a 500
        return Link(messages=["Could not read that Neuroglancer state."])


def _read_link(text, depth, resolve=None):
    state, messages = read_state(text, resolve)
    link = Link(messages=messages)
    if state is None:
        return link
    names, link.metres = _axis_order(state)
    layers = _layers(state, messages)
    experiments = []
    for layer in layers:
        name = layer.get("name") if isinstance(layer.get("name"), str) else "(unnamed)"
        urls = _sources(layer)
        if layer.get("type") == "annotation" and not any(u.startswith("boss://") for u in urls):
            continue
        matched = [m for m in map(BOSS_SOURCE.match, urls) if m]
        if not matched:
            shown = urls[0][:120] if urls else "no source"
            messages.append(f"Layer {name!r} ({shown}) is not a BOSS source; ignored.")
            continue
        host, coll, exp, channel = matched[0].groups()
        link.hosts.add(host)
        if (coll, exp) not in experiments:
            experiments.append((coll, exp))
        if (coll, exp) == experiments[0] and channel and channel not in link.channels:
            link.channels.append(channel)
    if not experiments:
        messages.append("No layer reads from BOSS (boss://https://host/collection/experiment/channel).")
    else:
        link.collection, link.experiment = experiments[0]
        if len(experiments) > 1:
            others = ", ".join(f"{c}/{e}" for c, e in experiments[1:])
            messages.append(f"Layers come from several experiments; using {link.collection}/{link.experiment} "
                            f"and ignoring {others}.")
    box = _annotation_box(layers, names, messages)
    link.from_annotation = box is not None
    if box is None:
        depth = _number(depth) or DEFAULT_DEPTH
        box = _view_box(state, names, max(1.0, depth), messages)
    link.box = box
    return link


# --- To the form -----------------------------------------------------------------------------------------

def _snap(value):
    """Undo float noise (40e-9 m read back in nm is 40.000000000000004) before floor/ceil."""
    nearest = round(value)
    return nearest if abs(value - nearest) < 1e-6 else value


def _match_level(link, frame, levels, messages):
    """The level whose voxel size equals the state's dimensions (within 1%), and units per voxel there."""
    if link.metres is None:
        messages.append("The link gives no voxel size; its coordinates are read as level-0 voxels.")
        return levels[0], {a: 1.0 for a in AXES}, True
    per_unit = METRES_PER_UNIT.get(frame.voxel_unit, 1e9)
    size = {a: link.metres[a] * per_unit for a in AXES}  # one state unit, in the frame's unit
    for level in levels:
        if all(abs(size[a] - level.voxel_size[i]) <= 0.01 * level.voxel_size[i] for i, a in enumerate(AXES)):
            return level, {a: size[a] / level.voxel_size[i] for i, a in enumerate(AXES)}, False
    messages.append("The viewer's voxel size ({}) matches no resolution level; the box is given at level 0.".format(
        " × ".join(f"{size[a]:g}" for a in AXES) + f" {frame.voxel_unit}"))
    level = levels[0]
    return level, {a: size[a] / level.voxel_size[i] for i, a in enumerate(AXES)}, True


def to_request(link, detail):
    """(request dict for the form, messages): channels, resolution and box in voxels at that level."""
    messages = []
    names = [c.name for c in detail.channels]
    channels = [c for c in link.channels if c in names]
    missing = [c for c in link.channels if c not in names]
    if missing:
        messages.append(f"Channel(s) {', '.join(missing)} not found in {link.collection}/{link.experiment}.")
    chosen = channels or names[:1]
    data = {"collection": link.collection, "experiment": link.experiment, "channels": chosen,
            "format": fitting_format([c for c in detail.channels if c.name in chosen])}
    usable = [detail.level(r) for r in detail.usable(chosen)] if detail.levels else []
    if not usable:
        messages.append("BOSS serves no resolution level of these channels; enter the box by hand.")
        return data, messages
    level, ratio, _ = _match_level(link, detail.frame, usable, messages)
    data["resolution"] = level.resolution
    if link.box is None:
        return data, messages
    box, clipped = {}, False
    for i, axis in enumerate(AXES):
        lo, hi = (_snap(v * ratio[axis]) for v in link.box[axis])
        lo, hi = math.floor(lo), math.ceil(hi)
        if hi <= lo:
            hi = lo + 1
        start, stop = level.bounds[i]
        if lo < start or hi > stop:
            clipped = True
        lo, hi = max(lo, start), min(hi, stop)
        if lo >= hi:
            messages.append(f"The box lies outside the data along {axis}; enter the box by hand.")
            return data, messages
        box[axis] = [lo, hi]
    if clipped:
        messages.append("The box reached outside the data and was clipped to it.")
    data.update(box)
    return data, messages


def fitting_format(channels):
    """The first format (in the form's order) that holds these channels in one result."""
    specs = [ChannelSpec(c.name, c.datatype, c.type) for c in channels]
    return next((name for name, fmt in FORMATS.items() if fmt.layout_problem(specs) is None), "tiff-zip")


def query_for_request(data):
    """The query string that pre-fills the cutout form with `data` (cf. cutouts.forms.query_for_job)."""
    params = [("channels", ch) for ch in data.get("channels", [])]
    if "resolution" in data:
        params.append(("resolution", data["resolution"]))
    for axis in AXES:
        if axis in data:
            params += [(f"{axis}0", data[axis][0]), (f"{axis}1", data[axis][1])]
    if data.get("t"):
        params += [("t0", data["t"][0]), ("t1", data["t"][1])]
    if data.get("format"):
        params.append(("format", data["format"]))
    return urlencode(params)
