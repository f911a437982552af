"""Channel endpoints (boss-api.md section 4): list, create, read, update and soft delete, with the checks on
sources and related channels, the default time sample and the staff-only storage fields."""
from django.http import JsonResponse

from . import access, errors, serialize
from .errors import BossError
from .models import CHANNEL_TYPES, DATATYPES, DOWNSAMPLE_STATUSES, Channel
from .resource_common import (
    _alive, _bad, _bool, _choice, _int, _new_name, _readonly, _require, _soft_delete, _taken, _text, boss_view,
    read_body,
)


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
