"""Resource endpoints: collections, coordinate frames, experiments, channels (boss-api.md section 4).

Every view is wrapped by `boss_view`, which authenticates the caller, refuses anonymous writes,
checks the names in the URL and turns bad bodies and surprises into BOSS's JSON errors.
"""
import json
import logging
import re
import socket
from functools import wraps

from django.db import IntegrityError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, realboss, serialize
from .auth import authenticate
from .errors import BossError
from .models import (
    CHANNEL_TYPES, DATATYPES, DOWNSAMPLE_STATUSES, HIERARCHY_METHODS, TIME_STEP_UNITS, VOXEL_UNITS,
    Channel, Collection, CoordinateFrame, Experiment, Metadata,
)

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


# --- helpers -------------------------------------------------------------------------------------


def _bad(message):
    return BossError(errors.INVALID_POST_ARGUMENT, message)


def check_name(name):
    if len(name) > 255 or not NAME_RE.match(name):
        raise _bad(f"Invalid name {name!r}: names may contain only letters, digits, '_' and '-'.")
    return name


def boss_view(*methods):
    """Wrap a view: allowed methods, authentication, URL name checks, JSON errors for everything."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, **kwargs):
            try:
                refused = realboss.check_json_accept(request)  # DRF negotiates before anything else
                if refused is not None:
                    return refused
                if request.method not in methods:
                    raise BossError(errors.BAD_REQUEST, f"Method {request.method} is not allowed here.", 405)
                user = authenticate(request)
                if request.method not in READ_METHODS and not user.is_authenticated:
                    raise BossError(errors.NOT_AUTHENTICATED, "Authentication credentials were not provided.", 401)
                for value in kwargs.values():
                    if value is not None:
                        check_name(value)
                return view(request, user, **kwargs)
            except BossError as exc:
                return exc.response()
            except IntegrityError as exc:
                return errors.error_response(errors.INTEGRITY_ERROR, f"Integrity error: {exc}")
            except Exception:  # a dev server still answers in BOSS's shape, never an HTML 500
                log.exception("unhandled error on %s %s", request.method, request.path)
                return errors.error_response(errors.UNHANDLED_EXCEPTION, "Unhandled exception, see the server log.")

        return wrapper

    return decorator


def read_body(request):
    """The JSON object in the body; empty bodies (intern's GETs and DELETEs) are `{}`."""
    if not request.body or not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _bad("The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


def _int(body, key, default=None, minimum=None):
    value = body.get(key, default)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not re.match(r"^-?\d+$", str(value).strip()):
        raise _bad(f"{{'{key}': ['A valid integer is required.']}}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise _bad(f"{{'{key}': ['Ensure this value is greater than or equal to {minimum}.']}}")
    return value


def _float(body, key):
    value = body.get(key)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"{{'{key}': ['A valid number is required.']}}")


def _choice(body, key, choices, default=None):
    value = body.get(key, default)
    if value is None:
        raise _bad(f"{{'{key}': ['This field is required.']}}")
    if value not in choices:
        raise _bad(f"{{'{key}': ['\"{value}\" is not a valid choice; use one of {', '.join(choices)}.']}}")
    return value


def _bool(body, key, default=False):
    value = body.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(f"{{'{key}': ['Must be a valid boolean.']}}")


def _text(body, key, default=""):
    value = body.get(key, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{{'{key}': ['Not a valid string.']}}")
    if len(value) > 4096:
        raise _bad(f"{{'{key}': ['Ensure this field has no more than 4096 characters.']}}")
    return value


def _require(user, resource, perm):
    if not access.has_permission(user, resource, perm):
        raise BossError(errors.MISSING_PERMISSION, f"Missing {perm} permissions on the resource {resource.name}")


def _readonly(body, allowed, current=None):
    """BOSS's update serializers refuse keys that are not updatable (unchanged values are tolerated)."""
    bad = [k for k in body if k not in allowed and (current is None or current.get(k) != body[k])]
    if bad:
        raise _bad(f"{{'fields': ['Cannot update the following readonly fields:{bad}']}}")


def _new_name(body, model, current, **scope):
    """A rename through `name` in a PUT body: valid and not taken (soft-deleted names stay taken)."""
    name = body.get("name", current.name)
    if not isinstance(name, str):
        raise _bad("{'name': ['Not a valid string.']}")
    if name != current.name:
        check_name(name)
        if model.objects.filter(name=name, **scope).exists():
            raise _bad(f"{{'name': ['{model._meta.verbose_name} with this name already exists.']}}")
    return name


def _taken(model, name, **scope):
    if model.objects.filter(name=name, **scope).exists():
        raise _bad(f"{{'name': ['{model._meta.verbose_name} with this name already exists.']}}")


def _soft_delete(obj):
    obj.to_be_deleted = timezone.now()
    obj.save(update_fields=["to_be_deleted"])
    return HttpResponse(status=204)


def _alive(related):
    return related.filter(to_be_deleted__isnull=True)


# --- misc ----------------------------------------------------------------------------------------


@csrf_exempt
def ping(request):
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        ip = "127.0.0.1"
    return JsonResponse({"ip": ip})


@csrf_exempt
def unsupported_version(request, **kwargs):
    return errors.error_response(errors.UNSUPPORTED_VERSION, "This API version is unsupported. Update to version v1")


@csrf_exempt
def not_found(request, **kwargs):
    """An unrouted URL: Django's HTML 404 page as on BOSS (real-boss behaviour 10), else JSON."""
    if realboss.strict(10):
        return realboss.not_found()
    return errors.error_response(errors.INVALID_URL, f"Invalid URL: {request.path}", 404)


# --- collections ---------------------------------------------------------------------------------


@boss_view("GET")
def collection_list(request, user):
    names = access.visible(user, Collection.objects.all()).order_by("name").values_list("name", flat=True)
    return JsonResponse({"collections": list(names)})


@boss_view("GET", "POST", "PUT", "DELETE")
def collection_detail(request, user, c):
    if request.method == "POST":
        return _collection_create(request, user, c)
    collection = access.get_collection(user, c)
    if request.method == "GET":
        return JsonResponse(serialize.collection(collection, user))
    if request.method == "PUT":
        return _collection_update(request, user, collection)
    _require(user, collection, "delete")
    if _alive(collection.experiments).exists():
        raise BossError(errors.INTEGRITY_ERROR, f"Cannot delete {c}: it still has experiments. Delete them first.")
    return _soft_delete(collection)


def _collection_create(request, user, c):
    body = read_body(request)
    _taken(Collection, c)
    collection = Collection.objects.create(
        name=c, description=_text(body, "description"), public=_bool(body, "public"), creator=user
    )
    return JsonResponse(serialize.collection(collection), status=201)


def _collection_update(request, user, collection):
    body = read_body(request)
    _require(user, collection, "update")
    collection.name = _new_name(body, Collection, collection)
    collection.description = _text(body, "description", collection.description)
    collection.public = _bool(body, "public", collection.public)
    collection.save()
    return JsonResponse(serialize.collection(collection))


# --- coordinate frames ---------------------------------------------------------------------------

COORD_FIELDS = ["x_start", "x_stop", "y_start", "y_stop", "z_start", "z_stop"]
VOXEL_FIELDS = ["x_voxel_size", "y_voxel_size", "z_voxel_size"]


@boss_view("GET")
def coord_list(request, user):
    frames = CoordinateFrame.objects.filter(to_be_deleted__isnull=True)
    if request.GET.get("owner", "").lower() == "true":
        frames = frames.filter(creator=user) if user.is_authenticated else frames.none()
    return JsonResponse({"coords": list(frames.order_by("name").values_list("name", flat=True))})


@boss_view("GET", "POST", "PUT", "DELETE")
def coord_detail(request, user, cf):
    if request.method == "POST":
        return _coord_create(request, user, cf)
    frame = access.get_coord_frame(cf)
    if request.method == "GET":
        return JsonResponse(serialize.coord_frame(frame))
    if request.method == "PUT":
        body = read_body(request)
        _require(user, frame, "update")
        _readonly(body, ["name", "description"], serialize.coord_frame(frame))
        frame.name = _new_name(body, CoordinateFrame, frame)
        frame.description = _text(body, "description", frame.description)
        frame.save()
        return JsonResponse(serialize.coord_frame(frame))
    _require(user, frame, "delete")
    if _alive(frame.experiments).exists():
        raise BossError(errors.INTEGRITY_ERROR, f"Cannot delete {cf}: experiments still use this frame.")
    return _soft_delete(frame)


def _coord_create(request, user, cf):
    body = read_body(request)
    _taken(CoordinateFrame, cf)
    values = {key: _int(body, key) for key in COORD_FIELDS}
    values.update({key: _float(body, key) for key in VOXEL_FIELDS})
    frame = CoordinateFrame.objects.create(
        name=cf, description=_text(body, "description"), voxel_unit=_choice(body, "voxel_unit", VOXEL_UNITS),
        creator=user, **values,
    )
    return JsonResponse(serialize.coord_frame(frame), status=201)


# --- experiments ---------------------------------------------------------------------------------


@boss_view("GET")
def experiment_list(request, user, c):
    collection = access.get_collection(user, c)
    names = access.visible(user, collection.experiments.all()).order_by("name").values_list("name", flat=True)
    return JsonResponse({"experiments": list(names)})


@boss_view("GET", "POST", "PUT", "DELETE")
def experiment_detail(request, user, c, e):
    if request.method == "POST":
        return _experiment_create(request, user, c, e)
    experiment = access.get_experiment(user, c, e)
    if request.method == "GET":
        return JsonResponse(serialize.experiment(experiment, user))
    if request.method == "PUT":
        return _experiment_update(request, user, experiment)
    _require(user, experiment, "delete")
    if _alive(experiment.channels).exists():
        raise BossError(errors.INTEGRITY_ERROR, f"Cannot delete {e}: it still has channels. Delete them first.")
    return _soft_delete(experiment)


def _experiment_fields(body, defaults):
    time_step_unit = body.get("time_step_unit", defaults["time_step_unit"])
    if time_step_unit not in TIME_STEP_UNITS + ["", None]:
        raise _bad(f"{{'time_step_unit': ['\"{time_step_unit}\" is not a valid choice.']}}")
    return {
        "num_hierarchy_levels": _int(body, "num_hierarchy_levels", defaults["num_hierarchy_levels"], minimum=1),
        "hierarchy_method": _choice(body, "hierarchy_method", HIERARCHY_METHODS, defaults["hierarchy_method"]),
        "num_time_samples": _int(body, "num_time_samples", defaults["num_time_samples"], minimum=1),
        "time_step": _int(body, "time_step", defaults["time_step"], minimum=0) if body.get("time_step") is not None
        else defaults["time_step"],
        "time_step_unit": time_step_unit,  # None when never given, as on BOSS (real-boss behaviour 3)
        "public": _bool(body, "public", defaults["public"]),
        "description": _text(body, "description", defaults["description"]),
    }


EXPERIMENT_DEFAULTS = {
    "num_hierarchy_levels": 1, "hierarchy_method": "anisotropic", "num_time_samples": 1, "time_step": None,
    "time_step_unit": None, "public": False, "description": "",
}


def _experiment_create(request, user, c, e):
    body = read_body(request)
    collection = access.get_collection(user, c)
    _require(user, collection, "add")
    _taken(Experiment, e, collection=collection)
    cf = body.get("coord_frame")
    if not cf or not isinstance(cf, str):
        raise _bad("This request requires a valid coordinate frame")
    frame = access.get_coord_frame(cf)
    experiment = Experiment.objects.create(
        name=e, collection=collection, coord_frame=frame, creator=user, **_experiment_fields(body, EXPERIMENT_DEFAULTS)
    )
    return JsonResponse(serialize.experiment(experiment), status=201)


def _experiment_update(request, user, experiment):
    body = read_body(request)
    _require(user, experiment, "update")
    current = serialize.experiment(experiment)
    _readonly(body, ["name", *EXPERIMENT_DEFAULTS], current)
    name = _new_name(body, Experiment, experiment, collection=experiment.collection)
    for key, value in _experiment_fields(body, current).items():
        setattr(experiment, key, value)
    experiment.name = name
    experiment.save()
    return JsonResponse(serialize.experiment(experiment))


# --- channels ------------------------------------------------------------------------------------


@boss_view("GET")
def channel_list(request, user, c, e):
    experiment = access.get_experiment(user, c, e)
    names = access.visible(user, experiment.channels.all()).order_by("name").values_list("name", flat=True)
    return JsonResponse({"channels": list(names)})


@boss_view("GET", "POST", "PUT", "DELETE")
def channel_detail(request, user, c, e, ch):
    if request.method == "POST":
        return _channel_create(request, user, c, e, ch)
    channel = access.get_channel(user, c, e, ch)
    if request.method == "GET":
        return JsonResponse(serialize.channel(channel))
    if request.method == "PUT":
        return _channel_update(request, user, channel)
    _require(user, channel, "delete")
    users = [o.name for o in _alive(channel.experiment.channels).exclude(pk=channel.pk) if ch in (o.sources or [])]
    if users:
        raise BossError(errors.INTEGRITY_ERROR, f"Cannot delete {ch}: it is a source of {', '.join(users)}.")
    return _soft_delete(channel)


def _names_list(body, key, default, experiment, own_name):
    value = body.get(key, default)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{{'{key}': ['Expected a list of channel names.']}}")
    existing = set(_alive(experiment.channels).values_list("name", flat=True)) - {own_name}
    unknown = [v for v in value if v not in existing]
    if unknown:
        raise _bad(f"Invalid channel names {unknown} in {key}: they must be channels of experiment {experiment.name}")
    return value


def _channel_links(body, experiment, channel_name, sources=(), related=()):
    sources = _names_list(body, "sources", list(sources), experiment, channel_name)
    related = _names_list(body, "related", list(related), experiment, channel_name)
    both = sorted(set(sources) & set(related))
    if both:
        raise _bad(f"Channels {both} cannot be both sources and related channels.")
    return sources, related


def _time_sample(body, default, experiment):
    value = _int(body, "default_time_sample", default, minimum=0)
    if value >= experiment.num_time_samples:
        raise _bad(
            f"{{'default_time_sample': ['Must be less than the experiment's num_time_samples "
            f"({experiment.num_time_samples}).']}}"
        )
    return value


def _storage(body, user, channel=None):
    """bucket, cv_path and storage_type are for staff only (403/3001 otherwise)."""
    keys = {"storage_type": "spdb", "bucket": None, "cv_path": None}
    given = {k: body[k] for k in keys if k in body and body[k] != (getattr(channel, k) if channel else keys[k])}
    if given and not user.is_staff:
        raise BossError(errors.MISSING_PERMISSION, f"Only administrators may set {', '.join(given)}")
    return given


def _channel_create(request, user, c, e, ch):
    body = read_body(request)
    experiment = access.get_experiment(user, c, e)
    _require(user, experiment, "add")
    _taken(Channel, ch, experiment=experiment)
    if "type" not in body or "datatype" not in body:
        raise _bad("{'type and datatype': ['This field is required.']}")
    sources, related = _channel_links(body, experiment, ch)
    channel = Channel.objects.create(
        name=ch, experiment=experiment, creator=user,
        description=_text(body, "description"),
        type=_choice(body, "type", CHANNEL_TYPES),
        datatype=_choice(body, "datatype", DATATYPES),
        base_resolution=_int(body, "base_resolution", 0, minimum=0),
        default_time_sample=_time_sample(body, 0, experiment),
        sources=sources, related=related,
        downsample_status=_choice(body, "downsample_status", DOWNSAMPLE_STATUSES, "NOT_DOWNSAMPLED"),
        public=_bool(body, "public"),
        # A new BOSS channel holds no voxels until written, no pyramid, and (the id index being disabled on
        # BOSS for new data) no index.
        source="empty", levels_built=False, object_index=False,
        **_storage(body, user),
    )
    return JsonResponse(serialize.channel(channel), status=201)


CHANNEL_UPDATABLE = [
    "name", "public", "description", "default_time_sample", "base_resolution", "sources", "related",
    "storage_type", "bucket", "cv_path",
]


def _channel_update(request, user, channel):
    body = read_body(request)
    _require(user, channel, "update")
    _readonly(body, CHANNEL_UPDATABLE, serialize.channel(channel))
    experiment = channel.experiment
    name = _new_name(body, Channel, channel, experiment=experiment)
    channel.sources, channel.related = _channel_links(body, experiment, channel.name, channel.sources, channel.related)
    channel.description = _text(body, "description", channel.description)
    channel.public = _bool(body, "public", channel.public)
    channel.base_resolution = _int(body, "base_resolution", channel.base_resolution, minimum=0)
    channel.default_time_sample = _time_sample(body, channel.default_time_sample, experiment)
    for key, value in _storage(body, user, channel).items():
        setattr(channel, key, value)
    channel.name = name
    channel.save()
    return JsonResponse(serialize.channel(channel))


# --- metadata (section 7) ------------------------------------------------------------------------


def _meta_target(user, c, e, ch):
    if ch is not None:
        return access.get_channel(user, c, e, ch), f"{c}&{e}&{ch}"
    if e is not None:
        return access.get_experiment(user, c, e), f"{c}&{e}"
    return access.get_collection(user, c), c


@boss_view("GET", "POST", "PUT", "DELETE")
def metadata(request, user, c, e=None, ch=None):
    """Key and value come only from the query string; bodies are ignored (no public bypass)."""
    target, lookup = _meta_target(user, c, e, ch)
    perm = {"GET": "read", "POST": "add", "PUT": "update", "DELETE": "delete"}[request.method]
    if not access.has_permission(user, target, perm):
        raise BossError(errors.MISSING_PERMISSION, "This user does not have the required permissions")
    key, value = request.GET.get("key"), request.GET.get("value")
    rows = Metadata.objects.filter(lookup=lookup)
    if request.method == "GET" and key is None:
        return JsonResponse({"keys": list(rows.order_by("key").values_list("key", flat=True))})
    if not key:
        raise _bad("Missing optional argument key in the request")
    row = rows.filter(key=key).first()
    if request.method == "POST":
        if value is None:
            raise _bad("Missing optional argument value in the request")
        if row is not None:
            raise _bad(f"Invalid request. The key {key} already exists")
        Metadata.objects.create(lookup=lookup, key=key, value=value)
        return HttpResponse(status=201)
    if row is None:
        raise _bad(f"Invalid request. Key {key} Not found in the database")
    if request.method == "GET":
        return JsonResponse({"key": key, "value": row.value})
    if request.method == "PUT":
        if value is None:
            raise _bad("Missing optional argument value in the request")
        row.value = value
        row.save(update_fields=["value"])
        return HttpResponse(status=200)
    row.delete()
    return HttpResponse(status=204)
