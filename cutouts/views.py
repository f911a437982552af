"""Cutout pages: the form (from an experiment's "cut out" button), the jobs list, one job, downloads."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cutouts import service
from cutouts.api import own_job
from cutouts.downloads import result_response
from cutouts.forms import initial_request, parse_form, query_for_job
from bossdb.geometry import DTYPE_BYTES
from cutouts.models import FORMATS, CutoutJob
from cutouts.pipeline import recipes
from cutouts.pipeline.recipes import command_line
from cutouts.serialize import job_json
from cutouts.validation import AXES, CutoutInvalid, finest_fitting, sizes_by_level, validate
from portal.boss import client


def _next_url(request, job):
    """Where to go after cancel/retry: `next` if it is a page of this site (never another host)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("cutout-job", args=[job.pk])


def _size_context(detail, request_data):
    """The 'size before submit' table for the box in `request_data`, or None if the box isn't valid yet."""
    try:
        r = int(request_data["resolution"])
        box = {a: (int(request_data[a][0]), int(request_data[a][1])) for a in AXES}
        names = [n for n in request_data.get("channels", []) if isinstance(n, str)]
        if any(lo >= hi for lo, hi in box.values()) or r not in detail.usable(names or None):
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    by_name = {c.name: c for c in detail.channels}
    per_voxel = sum(DTYPE_BYTES.get(by_name[n].datatype, 1)
                    for n in request_data.get("channels", []) if n in by_name) or 1
    t = request_data.get("t") or (0, 1)
    try:
        times = max(int(t[1]) - int(t[0]), 1)
    except (TypeError, ValueError, IndexError):
        times = 1
    rows = sizes_by_level(box, detail.levels, r, per_voxel, times, usable=detail.usable(names or None))
    current = next(row for row in rows if row.resolution == r)
    commands = []
    if not current.fits:  # beyond the web cap: the command line downloads any box, resumably
        t_range = request_data.get("t") or None
        names = [name for name in dict.fromkeys(request_data.get("channels", [])) if name in by_name]
        if names:  # one run downloads every chosen channel (bossdb://c/e/em,fluo)
            commands = [command_line(settings.BOSS_URL, detail.experiment.collection, detail.experiment.name,
                                     names, r, box["x"], box["y"], box["z"],
                                     t=[int(v) for v in t_range] if t_range else None)]
    return {"rows": rows, "current": current, "best": finest_fitting(rows), "commands": commands}


def _physical(detail, request_data):
    """Each axis's range in physical units at the chosen level ('2,048 – 6,144'), as form.js shows it."""
    try:
        r = int(request_data["resolution"])
        voxel = detail.level(r).voxel_size
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}
    out = {}
    for i, axis in enumerate(AXES):
        try:
            lo, hi = (int(str(v).strip()) for v in request_data[axis])
        except (KeyError, TypeError, ValueError):
            continue
        out[axis] = f"{lo * voxel[i]:,g} – {hi * voxel[i]:,g}"
    return out


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def cutout_form(request, collection, experiment):
    detail = client.get_experiment_detail(request.user, collection, experiment)
    errors = {}
    if request.method == "POST":
        data = parse_form(request.POST, collection, experiment)
        try:
            job = service.submit(validate(request.user, data))
        except CutoutInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, "Your cutout is queued. This page follows its progress.")
            return redirect("cutout-job", job.pk)
    else:
        data = initial_request(detail, request.GET, collection, experiment)
    # What BOSS serves at each level it serves for the chosen channels (the live check's bounds).
    usable = detail.usable(data.get("channels") or None)
    levels = [
        {"resolution": lv.resolution, "voxel_size": list(lv.voxel_size), "start": [b[0] for b in lv.bounds],
         "stop": [b[1] for b in lv.bounds]}
        for lv in (detail.levels or []) if lv.resolution in usable
    ]
    choices = [{"level": lv, "usable": lv.resolution in usable,
                "note": "" if lv.resolution in usable else detail.why_not(lv.resolution, data.get("channels") or None)}
               for lv in (detail.levels or [])]
    context = {
        "detail": detail,
        "exp": detail.experiment,
        "frame": detail.frame,
        "collection": collection,
        "data": data,
        "errors": errors,
        "formats": FORMATS,
        "level_choices": choices,
        "size": _size_context(detail, data) if detail.levels else None,
        "physical": _physical(detail, data) if detail.levels else {},
        "levels_json": {"levels": levels, "max_bytes": settings.CUTOUT_MAX_BYTES,
                        "dtypes": {c.name: c.datatype for c in detail.channels}},
        "max_bytes": settings.CUTOUT_MAX_BYTES,
        "max_parts_bytes": settings.CUTOUT_MAX_PARTS_BYTES,
    }
    return render(request, "cutouts/form.html", context, status=400 if errors else 200)


@require_safe
@login_required
def jobs(request):
    own = CutoutJob.objects.filter(owner=request.user)[:200]
    if request.GET.get("format") == "json":
        return JsonResponse({"jobs": [job_json(j, request) for j in own]})
    return render(request, "cutouts/jobs.html", {"jobs": own})


@require_safe
@login_required
def job_page(request, job_id):
    job = own_job(request, job_id)
    portal_url = request.build_absolute_uri("/")
    snippets = recipes.snippets(job.spec, portal_url)
    again = reverse("cutout-form", args=[job.collection, job.experiment]) + "?" + query_for_job(job)
    return render(request, "cutouts/job.html", {"job": job, "snippets": snippets, "again_url": again})


@require_safe
@login_required
def download(request, job_id):
    job = own_job(request, job_id)
    response = result_response(request, job, job.result_name, job.result_name) if job.can_download else None
    if response is None:
        raise Http404("This job has no file to download.")
    return response


@require_safe
@login_required
def download_part(request, job_id, n):
    """One part of a job delivered in parts (ranged, or a signed URL of the bucket)."""
    job = own_job(request, job_id)
    part = job.part(n)
    response = result_response(request, job, part["name"], part["name"]) if part else None
    if response is None:
        raise Http404("This job has no such part.")
    return response


@require_safe
@login_required
def provenance(request, job_id):
    job = own_job(request, job_id)
    stem = job.result_name.split(".")[0]
    response = (result_response(request, job, "provenance.json", f"{stem}.provenance.json",
                                content_type="application/json") if job.can_download else None)
    if response is None:
        raise Http404("This job has no provenance file.")
    return response


@require_POST
@login_required
def cancel(request, job_id):
    job = own_job(request, job_id)
    if job.cancel():
        messages.info(request, "The job is cancelled.")
    else:
        messages.warning(request, f"A {job.state} job can't be cancelled.")
    return redirect(_next_url(request, job))


@require_POST
@login_required
def retry(request, job_id):
    job = own_job(request, job_id)
    try:
        if service.retry(job):
            messages.info(request, "The job is queued again.")
        else:
            messages.warning(request, f"A {job.state} job can't be retried.")
    except service.LimitReached as exc:
        messages.warning(request, f"Not retried: {exc}")
    return redirect(_next_url(request, job))
