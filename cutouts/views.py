"""Cutout pages: the form (from an experiment's "cut out" button), the jobs list, one job, downloads."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cutouts import limits, service
from cutouts.api import own_job
from cutouts.downloads import result_response
from cutouts.form_recipes import request_data
from cutouts.forms import initial_request, query_for_job
from cutouts.live_check import form_context
from cutouts.models import CutoutJob
from cutouts.pipeline import recipes
from cutouts.serialize import job_json
from cutouts.validation import CutoutInvalid, validate
from portal.boss import client
from portal.units import human_bytes


def _next_url(request, job):
    """Where to go after cancel/retry: `next` if it is a page of this site (never another host)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("cutout-job", args=[job.pk])


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def cutout_form(request, collection, experiment):
    """The form; a POST runs the same checks as the API (and as the page's live check) and queues the job."""
    detail = client.get_experiment_detail(request.user, collection, experiment)
    errors = {}
    if request.method == "POST":
        data = request_data(request.POST, collection, experiment)
        try:
            job = service.submit(validate(request.user, data))
        except CutoutInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, "Your cutout is queued. This page follows its progress.")
            return redirect("cutout-job", job.pk)
    else:
        data = initial_request(detail, request.GET, collection, experiment)
    context = form_context(request, detail, data, errors)
    return render(request, "cutouts/form.html", context, status=400 if errors else 200)


@require_safe
@login_required
def jobs(request):
    own = CutoutJob.objects.filter(owner=request.user)[:200]
    quota = limits.quota(request.user)
    if request.GET.get("format") == "json":
        return JsonResponse({"jobs": [job_json(j, request) for j in own], "quota": quota.as_json()})
    return render(request, "cutouts/jobs.html", {"jobs": own, "quota": quota})


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
def delete(request, job_id):
    """Delete the job and its files (cancelling it first if it runs); back to the list, or to `next`."""
    job = own_job(request, job_id)
    freed = job.result_size if job.can_download else 0
    active = job.can_cancel
    try:
        service.delete(job)
    except service.DeleteFailed as exc:
        messages.warning(request, f"Not deleted: {exc}.")
        return redirect(_next_url(request, job))
    label = job.name or f"{job.collection}/{job.experiment}"
    done = "Cancelled and deleted" if active else "Deleted"
    messages.success(request, f"{done} the cutout {label}" + (f"; {human_bytes(freed)} freed." if freed else "."))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()) \
            and target != reverse("cutout-job", args=[job_id]):
        return redirect(target)
    return redirect("cutout-jobs")


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
