"""The cutout form's "Reproduce this box" recipes, for the box being edited: intern, curl of BOSS's REST
cutout, the portal's JSON API and boss-cutout, each runnable as printed once its token is in the environment
(tests/cutouts/test_recipes_run.py runs every one). cutouts/pipeline/recipes.py works on a CutoutSpec: here
one is built from the form's request dict. No token is ever written into the page.
"""
import json

from django.conf import settings
from django.http import JsonResponse

from bossdb.geometry import DTYPE_BYTES, Box
from cutouts.forms import parse_form
from cutouts.pipeline import recipes
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
from cutouts.validation import AXES, CutoutRequestSerializer
from portal.auth import oidc

# BOSS refuses one cutout request over CUTOUT_MAX_SIZE = 520 MiB uncompressed (413, code 2000), counting a
# 64-bit channel at a quarter of its bytes (is_too_large; /work/shared/boss-api.md 5.5).
BOSS_REQUEST_BYTES = 520 * 1048576


def request_data(query, collection, experiment):
    """The form's request dict from a POST or query string, plus any other field of the request serializer
    that the query carries (compression, name...): the portal-API recipe must carry every field."""
    data = parse_form(query, collection, experiment)
    for name in CutoutRequestSerializer().fields:
        if name not in data and query.get(name, "") != "":
            data[name] = query.get(name)
    return data


def spec_of(data, dtypes=None):
    """A CutoutSpec for the request dict `data`, or None while its box isn't whole numbers in order."""
    dtypes = dtypes or {}
    try:
        box = {a: tuple(int(str(v).strip()) for v in data[a]) for a in AXES}
        resolution = int(data.get("resolution", 0))
        t = tuple(int(str(v).strip()) for v in data["t"]) if data.get("t") else None
        channels = tuple(ChannelSpec(str(name), dtypes.get(name, "")) for name in data["channels"])
        if any(lo >= hi for lo, hi in box.values()) or (t and t[0] >= t[1]):
            return None
        box = Box(box["x"], box["y"], box["z"], t or (0, 1))
    except (KeyError, TypeError, ValueError):
        return None
    return CutoutSpec(boss_url=settings.BOSS_URL, collection=data["collection"], experiment=data["experiment"],
                      channels=channels, resolution=resolution, box=box, format=data.get("format") or "ome-tiff",
                      time_range=bool(t), compression=str(data.get("compression") or "none"))


def snippets(data, portal_url):
    """[{"title", "code"}] as on the job page, or [] while the form's box isn't readable."""
    spec = spec_of(data)
    if spec is None or not spec.channels:
        return []
    return recipes.snippets(spec, portal_url)


def boss_request_bytes(spec, channel):
    """What BOSS counts against its per-request cap for one channel's cutout of the box."""
    nbytes = spec.box.voxels * DTYPE_BYTES.get(channel.datatype, 1)
    return nbytes // 4 if channel.datatype == "uint64" else nbytes


def intern_recipe(spec):
    """One Python script that saves every chosen channel of the box as <channel>.npy."""
    args, shape = recipes.intern_cutout_args(spec)
    return "\n".join([
        "import os",
        "",
        "import numpy as np",
        "from intern.remote.boss import BossRemote",
        "",
        *recipes.intern_remote_lines(spec),
        f"for name in {spec.channel_names!r}:",
        f"    channel = rmt.get_channel(name, {spec.collection!r}, {spec.experiment!r})",
        f"    data = rmt.get_cutout(channel, {args},",
        f"                          parallel=False)  # a numpy array {shape}",
        "    np.save(f'{name}.npy', data)",
        "    print(name, data.shape, data.dtype, '->', f'{name}.npy')",
    ])


def curl_recipe(spec):
    """curl of BOSS's REST cutout, one file per channel, and how to read the file."""
    box = spec.box
    shape = ((box.t[1] - box.t[0],) if spec.time_range else ()) + tuple(
        hi - lo for lo, hi in (box.z, box.y, box.x))
    lines = []
    for ch in spec.channels:
        lines.append(f"# {ch.name}.blosc: blosc-compressed {ch.datatype or 'voxels'}, C order, shape {shape}")
        lines.append(recipes.curl_snippet(spec, ch.name).replace("curl -H", "curl -sS --fail -H", 1))
    lines.append("# then in Python (pip install blosc numpy), each file's array:")
    for ch in spec.channels:  # each channel keeps its own datatype
        read = f"blosc.decompress(open('{ch.name}.blosc', 'rb').read())"
        lines.append(f"# read {ch.name}.blosc: numpy.frombuffer({read}, "
                     f"'{ch.datatype or 'uint8'}').reshape({', '.join(map(str, shape))})")
    return "\n".join(lines)


def recipe_context(data, portal_url, detail=None):
    """Everything _recipes.html shows for the box in `data`, or None while the box isn't readable."""
    dtypes = {c.name: c.datatype for c in detail.channels} if detail else {}
    spec = spec_of(data, dtypes)
    if spec is None or not spec.channels or (detail and any(n not in dtypes for n in spec.channel_names)):
        return None
    too_big = [(ch.name, boss_request_bytes(spec, ch)) for ch in spec.channels
               if boss_request_bytes(spec, ch) > BOSS_REQUEST_BYTES]
    body = recipes.api_body(spec)
    body["parts"] = bool(data.get("parts"))
    if not data.get("compression"):  # the spec's "none" is no choice of the user's: the portal's default applies
        body.pop("compression", None)
    for name, value in data.items():  # every other field the form carries (compression, name...)
        if name not in body and name in CutoutRequestSerializer().fields and value not in (None, "", []):
            body[name] = value
    t = list(spec.box.t) if spec.time_range else None
    return {
        "intern": intern_recipe(spec),
        "curl": None if too_big else curl_recipe(spec),
        "curl_too_big": too_big,
        "boss_cap": BOSS_REQUEST_BYTES,
        "token_command": recipes.oidc_token_command(
            oidc.endpoint("TOKEN"), getattr(settings, "OIDC_SCRIPT_CLIENT_ID", "endpoint")),
        "api": recipes.api_snippet(spec, portal_url, body),
        "api_body": json.dumps(body),
        "cli": recipes.command_line(spec.boss_url, spec.collection, spec.experiment, spec.channel_names,
                                    spec.resolution, spec.box.x, spec.box.y, spec.box.z, t=t, fmt=spec.format,
                                    compression=body.get("compression")),
        "token_page": f"{settings.BOSS_PUBLIC_URL}/v1/mgmt/token",
    }


def form_recipes(request, collection, experiment):
    """GET with the form's fields: the snippets as JSON (for scripts and older pages; the form itself
    refreshes its recipes through the live check)."""
    data = parse_form(request.GET, collection, experiment)
    return JsonResponse({"snippets": snippets(data, request.build_absolute_uri("/"))})
