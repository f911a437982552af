"""The job page's "reproduce this box" snippets for the form's current box (cutouts/recipes.py works on a
job-like object: here an unsaved CutoutJob built from the form's request dict). No token in the page."""
from django.http import JsonResponse

from cutouts import recipes
from cutouts.forms import parse_form
from cutouts.models import CutoutJob
from cutouts.validation import AXES


def job_like(data):
    """An unsaved CutoutJob for the request dict `data`, or None while its box isn't whole numbers."""
    try:
        box = {a: [int(str(v).strip()) for v in data[a]] for a in AXES}
        resolution = int(data.get("resolution", 0))
        t = [int(str(v).strip()) for v in data["t"]] if data.get("t") else None
    except (KeyError, TypeError, ValueError):
        return None
    job = CutoutJob(collection=data["collection"], experiment=data["experiment"], channels=list(data["channels"]),
                    resolution=resolution, format=data.get("format") or "ome-tiff", meta={},
                    **{f"{a}{i}": box[a][i] for a in AXES for i in (0, 1)})
    if t:
        job.t0, job.t1, job.time_range = t[0], t[1], True
    return job


def snippets(data, portal_url):
    """[{"title", "code"}] as on the job page, or [] while the form's box isn't readable."""
    job = job_like(data)
    if job is None or not job.channels:
        return []
    out = []
    for ch in job.channels:
        out.append({"title": f"intern: BossRemote.get_cutout ({ch})", "code": recipes.intern_snippet(job, ch)})
        out.append({"title": f"intern: array ({ch})", "code": recipes.intern_array_snippet(job, ch)})
        out.append({"title": f"curl of BOSS's REST cutout ({ch})", "code": recipes.curl_snippet(job, ch)})
    out.append({"title": "this portal's JSON API (same job)", "code": recipes.api_snippet(job, portal_url)})
    return out


def form_recipes(request, collection, experiment):
    """GET with the form's fields: the snippets as JSON (form page script refreshes them as the box changes)."""
    data = parse_form(request.GET, collection, experiment)
    return JsonResponse({"snippets": snippets(data, request.build_absolute_uri("/"))})
