"""The cutout JSON API: /api/cutouts/ (list, submit), /api/cutouts/<id>/ (state), .../download,
.../cancel, .../retry. Same validation and messages as the form; users see only their own jobs (404
otherwise). Authenticate with `Authorization: Bearer <OIDC access token>` or the browser session."""
from django.http import Http404
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from cutouts import service
from cutouts.downloads import result_response
from cutouts.models import CutoutJob
from cutouts.serialize import job_json
from cutouts.validation import CutoutInvalid, validate

LIST_LIMIT = 200


def _login_required():
    return Response({"detail": "Authentication required: send Authorization: Bearer <access token>."},
                    status=status.HTTP_401_UNAUTHORIZED)


def own_job(request, job_id):
    """The caller's job, or 404 for anything else (someone else's job is indistinguishable from none)."""
    job = CutoutJob.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such cutout job.")
    return job


@api_view(["GET", "POST"])
def cutouts(request):
    if not request.user.is_authenticated:
        return _login_required()
    if request.method == "GET":
        jobs = CutoutJob.objects.filter(owner=request.user)[:LIST_LIMIT]
        return Response({"jobs": [job_json(job, request) for job in jobs]})
    try:
        data = request.data
    except RecursionError:  # DRF's JSON parser lets this through as a 500
        return Response({"errors": {"body": "the JSON is nested too deeply"}}, status=400)
    if not isinstance(data, dict):
        return Response({"errors": {"body": "send a JSON object"}}, status=400)
    try:
        job = validate(request.user, data)
    except CutoutInvalid as exc:
        return Response({"errors": exc.errors}, status=400)
    service.submit(job)
    return Response(job_json(job, request), status=202, headers={"Location": job_json(job, request)["url"]})


@api_view(["GET"])
def cutout(request, job_id):
    if not request.user.is_authenticated:
        return _login_required()
    return Response(job_json(own_job(request, job_id), request))


@api_view(["GET"])
def download(request, job_id):
    if not request.user.is_authenticated:
        return _login_required()
    job = own_job(request, job_id)
    response = result_response(request, job, job.result_name, job.result_name) if job.can_download else None
    if response is None:
        return Response({"detail": f"The job is {job.state}: there is no file to download."}, status=409)
    return response


@api_view(["GET"])
def download_part(request, job_id, n):
    if not request.user.is_authenticated:
        return _login_required()
    job = own_job(request, job_id)
    part = job.part(n)
    response = result_response(request, job, part["name"], part["name"]) if part else None
    if response is None:
        return Response({"detail": f"The job ({job.state}) has no part {n}."}, status=404)
    return response


@api_view(["POST"])
def cancel(request, job_id):
    if not request.user.is_authenticated:
        return _login_required()
    job = own_job(request, job_id)
    if not job.cancel():
        return Response({"detail": f"A {job.state} job can't be cancelled."}, status=409)
    return Response(job_json(job, request))


@api_view(["POST"])
def retry(request, job_id):
    if not request.user.is_authenticated:
        return _login_required()
    job = own_job(request, job_id)
    try:
        retried = service.retry(job)
    except service.LimitReached as exc:
        return Response({"errors": {"limit": str(exc)}}, status=400)
    if not retried:
        return Response({"detail": f"A {job.state} job can't be retried."}, status=409)
    return Response(job_json(job, request), status=202)
