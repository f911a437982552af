"""A job as JSON (JobSerializer), for the API and the jobs page's live updates."""
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cutouts.models import FORMATS, CutoutJob


def _url(context, path):
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


@extend_schema_field(OpenApiTypes.URI)
class JobURLField(serializers.Field):
    """The absolute URL of one of the job's views (a path when there is no request)."""

    def __init__(self, view_name, **kwargs):
        self.view_name = view_name
        super().__init__(source="pk", read_only=True, **kwargs)

    def to_representation(self, pk):
        return _url(self.context, reverse(self.view_name, args=[pk]))


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2})
class SpanField(serializers.Field):
    """[start, stop) of one axis, from the job's `<axis>0` and `<axis>1` columns."""

    def __init__(self, axis, **kwargs):
        self.axis = axis
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, job):
        return [getattr(job, f"{self.axis}0"), getattr(job, f"{self.axis}1")]


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
                      "nullable": True, "description": "null unless the request gave a time range"})
class TimeSpanField(SpanField):
    def to_representation(self, job):
        return super().to_representation(job) if job.time_range else None


class IsoDateTimeField(serializers.DateTimeField):
    """Python's isoformat() ("+00:00"), as the API has always written it (DRF would write "Z")."""

    def to_representation(self, value):
        return value.isoformat()


class BlankAsNullField(serializers.CharField):
    def to_representation(self, value):
        return value or None


class ProgressSerializer(serializers.Serializer):
    blocks_done = serializers.IntegerField()
    blocks_total = serializers.IntegerField()
    fraction = serializers.SerializerMethodField()

    def get_fraction(self, job) -> float:
        return round(job.progress, 4)


class PartSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    z = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    download = serializers.SerializerMethodField()

    def get_download(self, part) -> str:
        return _url(self.context, reverse("api-cutout-part", args=[self.context["job"].pk, part["n"]]))


class ResultSerializer(serializers.Serializer):
    name = serializers.CharField(source="result_name")
    size = serializers.IntegerField(source="result_size")
    download = JobURLField("api-cutout-download")
    provenance = JobURLField("cutout-provenance")
    parts = serializers.SerializerMethodField()

    @extend_schema_field(PartSerializer(many=True))
    def get_parts(self, job):
        return PartSerializer(job.parts, many=True, context={**self.context, "job": job}).data

    def to_representation(self, job):
        return super().to_representation(job) if job.can_download else None


class JobSerializer(serializers.Serializer):
    """A cutout job: its request, state and progress, and its files once done."""

    # context={"request": ...} makes the URLs absolute; without it they are paths.

    id = serializers.UUIDField()
    url = JobURLField("api-cutout")
    page = JobURLField("cutout-job")
    name = serializers.CharField(help_text="the owner's label for the job (may be empty)")
    state = serializers.ChoiceField(choices=CutoutJob.STATES)
    progress = ProgressSerializer(source="*")
    collection = serializers.CharField()
    experiment = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    resolution = serializers.IntegerField()
    x = SpanField("x")
    y = SpanField("y")
    z = SpanField("z")
    t = TimeSpanField("t")
    format = serializers.ChoiceField(choices=list(FORMATS.items()))
    compression = serializers.CharField(help_text="none, lz4, zstd or deflate: how the result is compressed")
    parts = serializers.BooleanField(source="split", help_text="delivered in parts")
    bytes = serializers.IntegerField(source="nbytes", help_text="uncompressed size of the box")
    error = BlankAsNullField(allow_null=True)
    action = serializers.SerializerMethodField(help_text="what resumes a job in state needs_login, else null")
    attempts = serializers.IntegerField()
    created = IsoDateTimeField(help_text="when it was submitted")
    started = IsoDateTimeField(allow_null=True)
    finished = IsoDateTimeField(allow_null=True)
    expires = IsoDateTimeField(allow_null=True)
    result = ResultSerializer(source="*", allow_null=True, help_text="the files, once the job is done")


    def get_action(self, job) -> str | None:
        if not job.needs_login:
            return None
        return ("log in to the portal in a browser, or make any API call with a fresh access token: the job "
                "then resumes by itself, keeping the blocks it has")


def job_json(job, request=None):
    """The job's JSON (absolute URLs with a request, paths without)."""
    return JobSerializer(job, context={"request": request}).data
