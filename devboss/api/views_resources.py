"""Resource endpoints: collections, coordinate frames, experiments (boss-api.md section 4) and metadata
(section 7), with ping, the unsupported-version answer and the catch-all 404.

Channels are in devboss.api.views_channels; `boss_view` and the field parsers in devboss.api.resource_common.
"""
import socket

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, realboss, serialize
from .errors import BossError
from .models import (
    HIERARCHY_METHODS, TIME_STEP_UNITS, VOXEL_UNITS, Collection, CoordinateFrame, Experiment, Metadata,
)
from .resource_common import (
    _alive, _bad, _bool, _choice, _float, _int, _new_name, _readonly, _require, _soft_delete, _taken, _text,
    boss_view, read_body,
)


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
