"""A cutout request, checked against what BOSS says of the experiment with one message per field, for the
JSON API and (through cutouts.validation.validate) the web form alike. A box's size at every level is
cutouts.sizes (re-exported here).

A request is read in three steps: the collection and experiment names, then BOSS's description of that
experiment, then every other field. Each field's own check reads its shape (a whole number, a range, a
format); the checks against the experiment (levels, frame, channels, time samples) follow, and last the size
and the owner's limits. Every problem found is reported at once, as the form shows them all.
"""
import re
from collections.abc import Mapping

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from cutouts import limits
from cutouts.sizes import AXES, SizeRow, finest_fitting, level_box, scale_box, sizes_by_level  # noqa: F401
from cutouts.models import DTYPE_BYTES, FORMATS, CutoutJob
from cutouts.pipeline import writers
from cutouts.pipeline.plan import PartsTooLarge, part_ranges
from cutouts.pipeline.spec import ChannelSpec
from portal import ngstate
from portal.boss import client
from portal.units import human_bytes
from bossdb.errors import BossForbidden, BossNotFound
from bossdb.geometry import Box

MAX_COORD = 2**40  # far beyond any BOSS frame; keeps arithmetic and the database sane
# ASCII digits only, and few of them: str.isdigit() also accepts "²" (which int() refuses) and int()
# refuses strings over 4300 digits, both of which were 500s.
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
BOSS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
DEFAULT_FORMAT = "ome-tiff"


# --- Reading values -------------------------------------------------------------------------------------

def whole_number(value):
    """An int from a JSON number or a string of ASCII digits (not a bool, a float or "1e3"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def is_flag(value):
    """A checkbox or JSON boolean: true, "true", "on", "1", "yes"."""
    if isinstance(value, bool):
        return value
    return isinstance(value, (str, int)) and str(value).strip().lower() in ("1", "true", "on", "yes")


# --- Request fields ---------------------------------------------------------------------------------------

class PlainGet:
    """Read a field as `data.get(name)` whatever the body (JSON, a form's QueryDict, the form's dict): DRF's
    form handling would turn blanks into defaults, which the messages below don't expect."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


@extend_schema_field({"type": "string", "pattern": f"^{BOSS_NAME.pattern}$"})
class BossNameField(PlainGet, serializers.Field):
    default_error_messages = {
        "required": "is required", "null": "is required",
        "invalid": "is not a BOSS name (letters, digits, _ and -, at most 255)",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data:
            self.fail("required")
        if not BOSS_NAME.fullmatch(data):  # never pass a '?', '#' or '/' on to BOSS's URLs
            self.fail("invalid")
        return data


@extend_schema_field({"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "description": "channel names (one name alone is also accepted)"})
class ChannelsField(PlainGet, serializers.Field):
    default_error_messages = {"required": "choose at least one channel", "null": "choose at least one channel"}

    def to_internal_value(self, data):
        names = [data] if isinstance(data, str) else data
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
            self.fail("required")
        return list(dict.fromkeys(names))


@extend_schema_field({"type": "integer", "description": "a whole number (a string of digits is accepted)"})
class WholeNumberField(PlainGet, serializers.Field):
    default_error_messages = {"invalid": "must be a whole number", "null": "must be a whole number",
                              "max_value": "is far too large"}

    def to_internal_value(self, data):
        number = whole_number(data)
        if number is None:
            self.fail("invalid")
        if abs(number) > MAX_COORD:  # far beyond any BOSS frame; keeps arithmetic and the database sane
            self.fail("max_value")
        return number


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
                      "description": "a half-open range [start, stop) in voxels at the chosen resolution"})
class RangeField(PlainGet, serializers.Field):
    default_error_messages = {
        "required": "must be a range [start, stop]", "null": "must be a range [start, stop]",
        "invalid": "must be a range [start, stop]", "numbers": "start and stop must be whole numbers",
        "order": "start ({lo}) must be less than stop ({hi})",
    }

    def to_internal_value(self, data):
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            self.fail("invalid")
        lo, hi = whole_number(data[0]), whole_number(data[1])
        if lo is None or hi is None or abs(lo) > MAX_COORD or abs(hi) > MAX_COORD:
            self.fail("numbers")
        if lo >= hi:
            self.fail("order", lo=lo, hi=hi)
        return lo, hi


class TimeRangeField(RangeField):
    """`t`: absent, null, "" and [] all mean "no time range" (the first sample)."""

    def validate_empty_values(self, data):
        if data in (None, "", []):
            raise SkipField()
        return super().validate_empty_values(data)


class FormatField(PlainGet, serializers.ChoiceField):
    default_error_messages = {"invalid_choice": f"must be one of {', '.join(FORMATS)}"}

    def validate_empty_values(self, data):
        if data is empty or not data:  # absent, null or blank: the default format
            return True, DEFAULT_FORMAT
        return super().validate_empty_values(data)


class CompressionField(PlainGet, serializers.ChoiceField):
    def validate_empty_values(self, data):
        if data is empty or not data:  # absent, null or blank: the format's default (writers.Format)
            return True, None
        return super().validate_empty_values(data)


@extend_schema_field(OpenApiTypes.BOOL)
class FlagField(PlainGet, serializers.Field):
    def validate_empty_values(self, data):
        if data is empty or data is None:
            return True, False
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        return is_flag(data)


class NameField(PlainGet, serializers.CharField):
    """The owner's optional label for the job (absent, null or blank: none)."""

    default_error_messages = {"invalid": "must be text", "max_length": "must be at most {max_length} characters"}

    def validate_empty_values(self, data):
        if data is empty or data is None:
            return True, ""
        return super().validate_empty_values(data)


# --- The request ----------------------------------------------------------------------------------------

def experiment_problems(detail, attrs):
    """{field: message} for the fields in `attrs` (each already well-formed) that don't fit `detail`."""
    errors = {}
    by_name = {ch.name: ch for ch in detail.channels}
    names = attrs.get("channels", [])
    unknown = [n for n in names if n not in by_name]
    if unknown:
        errors["channels"] = f"not a channel of {attrs['experiment']} you can read: {', '.join(unknown)}"

    resolution = attrs.get("resolution")
    known = [lv.resolution for lv in detail.levels]
    if resolution is not None and resolution not in known:
        errors["resolution"] = f"must be a level from {known[0]} to {known[-1]}"
        resolution = None
    elif resolution is not None and not unknown and resolution not in detail.usable(names):
        errors["resolution"] = f"BOSS can't serve level {resolution}: {detail.why_not(resolution, names)}"
        resolution = None
    for axis in AXES:
        if axis in attrs and resolution is not None:
            (lo, hi), got = level_box(detail.levels, resolution)[axis], attrs[axis]
            if got[0] < lo or got[1] > hi:
                errors[axis] = f"must lie within {lo}:{hi} at level {resolution} (got {got[0]}:{got[1]})"

    samples = detail.experiment.num_time_samples or 1
    if "t" in attrs and (attrs["t"][0] < 0 or attrs["t"][1] > samples):
        errors["t"] = f"must lie within 0:{samples} (the experiment's time samples)"
    cloud = [n for n in names if n in by_name and by_name[n].is_cloudvolume]
    if "t" in attrs and cloud:
        errors["t"] = (f"{', '.join(cloud)} {'is' if len(cloud) == 1 else 'are'} stored in CloudVolume, which BOSS "
                       "reads without time ranges (it would send time sample 0 whatever you ask): leave out t")

    fmt = attrs.get("format")
    if fmt in writers.FORMATS:
        problem = writers.FORMATS[fmt].layout_problem(
            [ChannelSpec(n, by_name[n].datatype, by_name[n].type) for n in names if n in by_name])
        if problem:
            errors["format"] = problem
        attrs["compression"] = attrs.get("compression") or writers.FORMATS[fmt].default_compression
        if attrs["compression"] not in writers.FORMATS[fmt].compressions:
            errors["compression"] = (f"{fmt} results can be {', '.join(writers.FORMATS[fmt].compressions)}, "
                                     f"not {attrs['compression']}")
        elif not problem and all(axis in attrs and axis not in errors for axis in AXES):
            box = Box(tuple(attrs["x"]), tuple(attrs["y"]), tuple(attrs["z"]))
            chosen = [ChannelSpec(n, by_name[n].datatype) for n in names if n in by_name]
            problem = writers.compression_problem(fmt, attrs["compression"], box, chosen, settings.CUTOUT_BLOCK_BYTES)
            if problem:
                errors["compression"] = problem
    return errors


class CutoutRequestSerializer(serializers.Serializer):
    """A cutout: a box of one or more channels of an experiment, at one resolution level, as one file."""

    # POST /api/cutouts/ and the cutout form (through cutouts.validation.validate). Needs
    # context={"user": ...}; save() returns the job unsaved: service.submit() saves and queues it.

    collection = BossNameField()
    experiment = BossNameField()
    channels = ChannelsField()
    resolution = WholeNumberField(required=False, default=0, help_text="resolution level (default 0)")
    x = RangeField()
    y = RangeField()
    z = RangeField()
    t = TimeRangeField(required=False, help_text="time samples [start, stop) (default: the first)")
    format = FormatField(choices=list(FORMATS.items()), required=False, help_text=f"default {DEFAULT_FORMAT}")
    compression = CompressionField(choices=list(writers.ALL_COMPRESSIONS), required=False,
                                   help_text="none, lz4 (ome-zarr only), zstd or deflate (tiff only); default: lz4 "
                                             "for ome-zarr, else none")
    parts = FlagField(required=False, help_text="deliver a box over the cap in parts")
    name = NameField(required=False, allow_blank=True, max_length=120,
                     help_text="your label for the job, shown on the jobs page (optional)")

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"body": "send a JSON object"})
        attrs, errors = self._read(data, ("collection", "experiment"))
        if errors:
            raise serializers.ValidationError(errors)
        self.detail = self._experiment(attrs["collection"], attrs["experiment"])
        more, errors = self._read(data, [name for name in self.fields if name not in attrs])
        attrs.update(more)
        for field, message in experiment_problems(self.detail, attrs).items():
            errors.setdefault(field, message)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _read(self, data, names):
        """Each field's own check. DRF's loop would raise before the checks against the experiment, and
        the form shows every problem at once: so the loop is here."""
        attrs, errors = {}, {}
        for name in names:
            field = self.fields[name]
            try:
                attrs[name] = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except SkipField:
                pass
        return attrs, errors

    def _experiment(self, collection, experiment):
        try:
            detail = client.get_experiment_detail(self.context["user"], collection, experiment)
        except BossNotFound:
            raise serializers.ValidationError({"experiment": f"{collection}/{experiment} does not exist in BOSS"})
        except BossForbidden:
            raise serializers.ValidationError({"experiment": f"you can't read {collection}/{experiment}"})
        if not detail.levels:
            raise serializers.ValidationError({"resolution": detail.levels_error or "BOSS gave no resolution levels"})
        return detail

    def validate(self, attrs):
        """The size rule (one download under the cap, or parts), then the owner's limits."""
        attrs["part_z"] = self._part_z(attrs)
        problem = limits.submission_problem(self.context["user"], self._job(attrs))
        if problem:
            raise serializers.ValidationError({"limit": problem})
        return attrs

    def _part_z(self, attrs):
        """The parts' z ranges ([] for one download); a ValidationError on "size" when the box is too big."""
        by_name = {ch.name: ch for ch in self.detail.channels}
        per_voxel = sum(DTYPE_BYTES[by_name[n].datatype] for n in attrs["channels"])
        box, resolution, t = {a: attrs[a] for a in AXES}, attrs["resolution"], attrs.get("t", (0, 1))
        rows = sizes_by_level(box, self.detail.levels, resolution, per_voxel, t[1] - t[0],
                              usable=self.detail.usable(attrs["channels"]))
        here = next(r for r in rows if r.resolution == resolution)
        cap, parts_cap = settings.CUTOUT_MAX_BYTES, settings.CUTOUT_MAX_PARTS_BYTES
        if attrs["parts"]:
            if here.nbytes > parts_cap:
                raise serializers.ValidationError({"size": (
                    f"the box is {human_bytes(here.nbytes)}, over the {human_bytes(parts_cap)} cap for a download "
                    "in parts: use the command line tool, which has no cap")})
            try:
                per_slice = here.nbytes // (box["z"][1] - box["z"][0])
                return [list(r) for r in part_ranges(box["z"], per_slice, cap)]
            except PartsTooLarge as exc:
                raise serializers.ValidationError({"size": str(exc)}) from None
        if not here.fits:
            best = finest_fitting(rows)
            hint = (f"; the same box fits at level {best.resolution} ({human_bytes(best.nbytes)})" if best
                    else "; no level holds it under the cap")
            if here.nbytes <= parts_cap:
                hint += "; or ask for it in parts (each under the cap)"
            raise serializers.ValidationError({"size": (
                f"the box is {human_bytes(here.nbytes)}, over the {human_bytes(cap)} cap for one download{hint}")})
        return []

    def _job(self, attrs):
        detail, names = self.detail, attrs["channels"]
        by_name = {ch.name: ch for ch in detail.channels}
        t = attrs.get("t", (0, 1))
        return CutoutJob(
            owner=self.context["user"],
            collection=attrs["collection"],
            experiment=attrs["experiment"],
            channels=names,
            resolution=attrs["resolution"],
            x0=attrs["x"][0], x1=attrs["x"][1], y0=attrs["y"][0], y1=attrs["y"][1], z0=attrs["z"][0], z1=attrs["z"][1],
            t0=t[0], t1=t[1], time_range="t" in attrs,
            format=attrs["format"], compression=attrs.get("compression") or "none",
            name=attrs.get("name", ""),
            split=bool(attrs["part_z"]),
            meta={
                "part_z": attrs["part_z"],
                "channels": {n: {"datatype": by_name[n].datatype, "type": by_name[n].type} for n in names},
                "voxel_size": list(detail.frame.voxel_size),
                "voxel_unit": detail.frame.voxel_unit,
                "hierarchy_method": detail.experiment.hierarchy_method,
                "boss_url": settings.BOSS_URL,
                "public": all(by_name[n].public for n in names),  # may a viewer without your token draw it
            },
        )

    def create(self, validated_data):
        """The unsaved job, with a viewer link framed on its box."""
        job = self._job(validated_data)
        job.meta["viewer_url"] = self._viewer_url(job)
        return job

    def _viewer_url(self, job):
        detail, resolution = self.detail, job.resolution
        # The box in level-0 voxels, for the viewer link framed on it.
        voxel = next(lv for lv in detail.levels if lv.resolution == resolution).voxel_size
        ratio = [v / v0 for v, v0 in zip(voxel, detail.frame.voxel_size)]
        box = ((job.x0, job.x1), (job.y0, job.y1), (job.z0, job.z1))
        box0 = tuple((round(lo * ratio[i]), round(hi * ratio[i])) for i, (lo, hi) in enumerate(box))
        by_name = {ch.name: ch for ch in detail.channels}
        chosen = [by_name[n] for n in job.channels]
        windows = client.display_windows(self.context["user"], detail, chosen)
        return ngstate.viewer_url(job.collection, job.experiment, chosen, detail.frame, box=box0, windows=windows)


def field_errors(errors):
    """{field: message}: the first message of each field (the API's and the form's shape)."""
    return {field: str(messages[0] if isinstance(messages, list) else messages) for field, messages in errors.items()}

