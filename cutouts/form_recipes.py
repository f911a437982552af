"""The job page's "reproduce this box" snippets for the form's current box (cutouts/pipeline/recipes.py works
on a CutoutSpec: here one built from the form's request dict). No token in the page."""
from django.conf import settings
from django.http import JsonResponse

from bossdb.geometry import Box
from cutouts.forms import parse_form
from cutouts.pipeline import recipes
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
from cutouts.validation import AXES


def spec_of(data):
    """A CutoutSpec for the request dict `data`, or None while its box isn't whole numbers in order."""
    try:
        box = {a: tuple(int(str(v).strip()) for v in data[a]) for a in AXES}
        resolution = int(data.get("resolution", 0))
        t = tuple(int(str(v).strip()) for v in data["t"]) if data.get("t") else None
        channels = tuple(ChannelSpec(str(name)) for name in data["channels"])
        box = Box(box["x"], box["y"], box["z"], t or (0, 1))
    except (KeyError, TypeError, ValueError):
        return None
    return CutoutSpec(boss_url=settings.BOSS_URL, collection=data["collection"], experiment=data["experiment"],
                      channels=channels, resolution=resolution, box=box, format=data.get("format") or "ome-tiff",
                      time_range=bool(t))


def snippets(data, portal_url):
    """[{"title", "code"}] as on the job page, or [] while the form's box isn't readable."""
    spec = spec_of(data)
    if spec is None or not spec.channels:
        return []
    return recipes.snippets(spec, portal_url)


def form_recipes(request, collection, experiment):
    """GET with the form's fields: the snippets as JSON (form page script refreshes them as the box changes)."""
    data = parse_form(request.GET, collection, experiment)
    return JsonResponse({"snippets": snippets(data, request.build_absolute_uri("/"))})
