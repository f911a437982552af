"""The cutout JSON API: /api/cutouts/ (list with the quota, submit), /api/cutouts/<id>/ (state; DELETE removes
the job and its files), .../download, .../parts/<n>, .../cancel, .../retry. Same checks and messages as the form (cutouts.serializers); users see only their own
jobs (404 otherwise). Authenticate with `Authorization: Bearer <OIDC access token>` or the browser session."""
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, NotFound, ParseError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from bossdb import Credential
from cutouts import limits, service
from cutouts.downloads import result_response
from cutouts.models import CutoutJob
from cutouts.serialize import JobSerializer
from cutouts.serializers import CutoutRequestSerializer, field_errors

LIST_LIMIT = 200
LOGIN_REQUIRED = "Authentication required: send Authorization: Bearer <access token>."
NO_SUCH_JOB = "No such cutout job."


def script_credential(request):
    """The bearer token the caller sent (a script: the job runs with it), or None (a browser session)."""
    return request.auth if isinstance(request.auth, Credential) else None


def own_job(request, job_id):
    """The caller's job, or 404 for anything else (someone else's job is indistinguishable from none).
    For the pages (cutouts/views.py); the API's views use OwnJob."""
    job = CutoutJob.objects.visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404(NO_SUCH_JOB)
    return job


class IsSignedIn(BasePermission):
    """A user, by bearer token or session; else 401 saying how to send a token."""

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        # OPTIONS describes the view, and a method the view lacks is a 405, for anyone.
        if request.method == "OPTIONS" or not hasattr(view, request.method.lower()):
            return True
        raise NotAuthenticated(LOGIN_REQUIRED)


class OwnJob(BasePermission):
    """A job its owner (or staff) may act on; anyone else's is a 404, as if it did not exist."""

    def has_object_permission(self, request, view, job):
        if job.owner_id == request.user.pk or request.user.is_staff:
            return True
        raise NotFound(NO_SUCH_JOB)


# --- Response shapes, for the schema --------------------------------------------------------------------

class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.CharField(),
        help_text="one message per field: collection, experiment, channels, resolution, x, y, z, t, format, "
                  "size, limit or body")


class QuotaSerializer(serializers.Serializer):
    used_bytes = serializers.IntegerField(help_text="bytes your unexpired results take")
    limit_bytes = serializers.IntegerField(help_text="CUTOUT_MAX_RESULT_BYTES_PER_USER")
    free_bytes = serializers.IntegerField()
    used = serializers.CharField(help_text='used_bytes in words ("3.07 GB")')
    limit = serializers.CharField(help_text='limit_bytes in the same unit ("10.0 GB")')
    next_expiry = serializers.DateTimeField(allow_null=True, help_text="when your first result expires")
    queued = serializers.IntegerField()
    max_queued = serializers.IntegerField()


class JobListSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)
    quota = QuotaSerializer()


NEEDS_LOGIN = OpenApiResponse(DetailSerializer, description="no token, or the token was refused")
NOT_YOURS = OpenApiResponse(DetailSerializer, description="no such job (or someone else's)")
CONFLICT = OpenApiResponse(DetailSerializer, description="the job's state does not allow it")
# A file goes with the type its name says (.tif, .zip), else application/octet-stream.
FILE_TYPES = ("image/tiff", "application/zip", "application/octet-stream")
FILE = {
    **{(200, t): OpenApiResponse(OpenApiTypes.BINARY, description="the file") for t in FILE_TYPES},
    **{(206, t): OpenApiResponse(OpenApiTypes.BINARY, description="a byte range of it") for t in FILE_TYPES},
    302: OpenApiResponse(description="a signed, expiring URL of the file in the results bucket"),
    401: NEEDS_LOGIN, 404: NOT_YOURS,
    416: OpenApiResponse(description="the range is beyond the file"),
}
RANGE = OpenApiParameter("Range", str, OpenApiParameter.HEADER, description=(
    'one byte range, "bytes=<first>-[<last>]" or "bytes=-<suffix length>" (resume a download); '
    "any other value is ignored and the whole file comes"))


# --- Views ----------------------------------------------------------------------------------------------

class JobsView(GenericAPIView):
    permission_classes = [IsSignedIn]
    serializer_class = JobSerializer

    @extend_schema(operation_id="cutouts_list", summary="Your jobs, newest first",
                   responses={200: JobListSerializer, 401: NEEDS_LOGIN})
    def get(self, request):
        jobs = CutoutJob.objects.filter(owner=request.user)[:LIST_LIMIT]
        return Response({"jobs": self.get_serializer(jobs, many=True).data,
                         "quota": limits.quota(request.user).as_json()})

    @extend_schema(operation_id="cutouts_create", summary="Submit a cutout",
                   request={"application/json": CutoutRequestSerializer}, responses={
                       202: OpenApiResponse(JobSerializer, description="queued; Location is the job's URL"),
                       400: OpenApiResponse(ErrorsSerializer, description="a message per field"), 401: NEEDS_LOGIN,
                       415: OpenApiResponse(DetailSerializer, description="the body is not application/json")})
    def post(self, request):
        try:
            data = request.data
        except RecursionError:  # DRF's JSON parser lets this through as a 500
            return Response({"errors": {"body": "the JSON is nested too deeply"}}, status=400)
        except ParseError as exc:  # not JSON, or not UTF-8: the same shape as every other refusal
            return Response({"errors": {"body": str(exc.detail)}}, status=400)
        if not isinstance(data, dict):
            return Response({"errors": {"body": "send a JSON object"}}, status=400)
        cutout = CutoutRequestSerializer(data=data, context={"user": request.user})
        if not cutout.is_valid():
            return Response({"errors": field_errors(cutout.errors)}, status=400)
        body = self.get_serializer(service.submit(cutout.save(), credential=script_credential(request))).data
        return Response(body, status=202, headers={"Location": body["url"]})


class JobView(GenericAPIView):
    # One of the caller's jobs, by the `job_id` of the URL.
    permission_classes = [IsSignedIn, OwnJob]
    serializer_class = JobSerializer
    queryset = CutoutJob.objects.all()
    lookup_url_kwarg = "job_id"

    def get_object(self):
        job = self.get_queryset().filter(pk=self.kwargs["job_id"]).first()
        if job is None:
            raise NotFound(NO_SUCH_JOB)
        self.check_object_permissions(self.request, job)
        return job


class JobDetailView(JobView):
    @extend_schema(
        operation_id="cutout_retrieve", summary="A job's state and progress",
        responses={200: JobSerializer, 401: NEEDS_LOGIN, 404: NOT_YOURS})
    def get(self, request, job_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        operation_id="cutout_destroy", summary="Delete a job and its files (a running job is cancelled first)",
        responses={204: OpenApiResponse(description="deleted; its bytes are free at once"),
                   401: NEEDS_LOGIN, 404: NOT_YOURS,
                   503: OpenApiResponse(DetailSerializer, description="the files could not be deleted now; "
                                        "the job is kept (cancelled if it was running): try again")})
    def delete(self, request, job_id):
        try:
            service.delete(self.get_object())
        except service.DeleteFailed as exc:
            return Response({"detail": f"{str(exc)[0].upper()}{str(exc)[1:]}."}, status=503)
        return Response(status=204)


class DownloadView(JobView):
    @extend_schema(
        operation_id="cutout_download", summary="Download a job's file (HTTP range requests supported)",
        parameters=[RANGE],
        responses={**FILE, 409: OpenApiResponse(DetailSerializer, description="the job has no file (yet)")})
    def get(self, request, job_id):
        job = self.get_object()
        response = result_response(request, job, job.result_name, job.result_name) if job.can_download else None
        if response is None:
            return Response({"detail": f"The job is {job.state}: there is no file to download."}, status=409)
        return response


class PartView(JobView):
    @extend_schema(
        operation_id="cutout_part", summary="Download one part of a job delivered in parts", parameters=[RANGE],
        responses=FILE)
    def get(self, request, job_id, n):
        job = self.get_object()
        part = job.part(n)
        response = result_response(request, job, part["name"], part["name"]) if part else None
        if response is None:
            return Response({"detail": f"The job ({job.state}) has no part {n}."}, status=404)
        return response


class CancelView(JobView):
    @extend_schema(
        operation_id="cutout_cancel", summary="Cancel a queued or running job", request=None,
        responses={200: JobSerializer, 401: NEEDS_LOGIN, 404: NOT_YOURS, 409: CONFLICT})
    def post(self, request, job_id):
        job = self.get_object()
        if not job.cancel():
            return Response({"detail": f"A {job.state} job can't be cancelled."}, status=409)
        return Response(self.get_serializer(job).data)


class RetryView(JobView):
    @extend_schema(
        operation_id="cutout_retry", summary="Queue a failed or cancelled job again", request=None,
        responses={202: JobSerializer, 400: OpenApiResponse(ErrorsSerializer, description="over a limit"),
                   401: NEEDS_LOGIN, 404: NOT_YOURS, 409: CONFLICT})
    def post(self, request, job_id):
        job = self.get_object()
        try:
            retried = service.retry(job, credential=script_credential(request))
        except service.LimitReached as exc:
            return Response({"errors": {"limit": str(exc)}}, status=400)
        if not retried:
            return Response({"detail": f"A {job.state} job can't be retried."}, status=409)
        return Response(self.get_serializer(job).data, status=202)
