"""The cutout service: GET and POST /v1/cutout/..., PUT /v1/cutout/to_black/... (boss-api.md 5), in the real
BOSS's order of checks and with its answers (the numbers are real-boss behaviours, devboss.api.realboss).

GET: Accept negotiation, authentication, names and permissions, filter, resolution and ranges (checked
against the level-0 frame: 2), size (413), the byte quota (6), then the voxels (4, 9) and the renderer (10:
JSON fails). POST: authentication, names, add_volumetric_data, ranges, size, the body (blosc, npygz or
blosc-python), the ingress quota, the write (only at base_resolution or the level above it), and a
DOWNSAMPLED channel becomes NOT_DOWNSAMPLED. Errors that DRF raises itself (401, 405, 406, 415, 429) go
through the renderer the Accept header chose, which only knows 403 and 429 (1).
"""
import io
import logging
import pickle
import zlib

import blosc
import numpy as np
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import access, errors, reader, realboss, throttle, writes
from . import faults as injection
from .auth import authenticate
from .realboss import DrfError, ServerError, forgiven, strict
from .volume_requests import (
    _box, _can_add_volume, _check_renderable, _check_size, _encode, _filter_ids, _media_type, _member, cost,
    voxels,
)

log = logging.getLogger(__name__)

UPLOAD_TYPES = ("application/blosc", "application/blosc-python", "application/npygz")


def _caller(request, writing=False):
    try:
        user = authenticate(request)
    except errors.BossError as exc:
        if exc.status == 401:
            raise realboss.from_auth_error(exc) from None
        raise
    if writing and not user.is_authenticated:  # IsAuthenticatedOrReadOnly
        message = "Authentication credentials were not provided."
        raise DrfError(401, message, forgiving=errors.BossError(errors.NOT_AUTHENTICATED, message, 401))
    return user


def _throttle(mtype, user, request, channel, box):
    try:
        throttle.check(mtype, throttle.account(user, request), cost(channel, box))
    except throttle.Throttled as exc:
        raise DrfError(429, exc.detail) from None


@csrf_exempt
def cutout(request, c, e, ch, r, x, y, z, t=None):
    """GET (read) or POST (write) a cutout."""
    if not realboss.routes(names=(c, e, ch), r=r, ranges=(x, y, z), t=t):
        return realboss.not_found()
    media = "application/blosc"  # what DRF falls back on when negotiation fails
    try:
        media = _media_type(request)
        if request.method in ("GET", "HEAD"):
            return _read(request, media, c, e, ch, r, x, y, z, t)
        if request.method == "POST":
            return _write(request, c, e, ch, r, x, y, z, t)
        message = f'Method "{request.method}" not allowed.'
        raise DrfError(405, message, forgiving=errors.BossError(errors.BAD_REQUEST, message, 405))
    except errors.BossError as exc:
        return exc.response()
    except DrfError as exc:
        return realboss.render_drf_error(exc, media)
    except ServerError as exc:
        log.info("devboss answers 500 as BOSS would: %s", exc)
        return realboss.server_error()
    except Exception:
        log.exception("devboss cutout failed")
        return errors.error_response(errors.UNHANDLED_EXCEPTION, "Unexpected devboss error.", 500)


def _read(request, media, c, e, ch, r, x, y, z, t):
    user = _caller(request)
    channel = access.get_volume_channel(user, c, e, ch)
    ids = _filter_ids(channel, request)
    box = _box(channel, r, x, y, z, t)
    _check_size(channel, box)
    _check_renderable(channel, box, media)
    _throttle("egress", user, request, channel, box)
    if request.GET.get("iso", "").lower() == "true" and strict(7) and not reader.is_cloudvol(channel):
        experiment, frame = channel.experiment, channel.experiment.coord_frame
        if experiment.hierarchy_method == "anisotropic" and frame.x_voxel_size != frame.y_voxel_size:
            raise ServerError("X voxel size != Y voxel size. Currently unable to determine isotropic level")
    truncate = injection.before_cutout()
    arr = voxels(channel, box)
    if ids is not None and not reader.is_cloudvol(channel):
        arr[~_member(arr, ids)] = 0
    if media in ("application/json", "text/html"):
        if strict(10):
            raise ServerError("Object of type Cube is not JSON serializable")  # DRF's JSONRenderer on the data
        media = "application/json"
    body = _encode(arr if box.four_d else arr[0], media)
    injection.count_cutout(reader.key(channel))
    if truncate:
        return injection.truncated_response(body, media)
    return HttpResponse(body, content_type=media)


# ---- writes ----------------------------------------------------------------------------------------------


class _NumpyOnly(pickle.Unpickler):
    """blosc.pack_array pickles an ndarray: unpickle that and nothing else."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.numeric", "_frombuffer"),
               ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in an upload")


def _decode(request, channel, box):
    """The uploaded array, as BOSS's parsers read it."""
    kind = request.content_type
    try:
        body = request.body
    except RequestDataTooBig:
        raise errors.BossError(errors.REQUEST_TOO_LARGE, "Request Entity Too Large") from None
    dtype = np.dtype(channel.datatype)
    if kind == "application/blosc":
        try:
            data = np.frombuffer(blosc.decompress(body), dtype=dtype)
        except Exception:
            raise errors.BossError(errors.DATATYPE_DOES_NOT_MATCH, "Failed to decompress data. Verify the "
                                   "datatype/bitdepth of your data matches the channel.") from None
        shape = box.shape if box.four_d else box.shape[1:]
        try:
            return data.reshape(shape)
        except ValueError:
            raise errors.BossError(errors.DATA_DIMENSION_MISMATCH, "Failed to unpack data. Verify the datatype of "
                                   "your POSTed data and xyz dimensions used in the POST URL.") from None
    try:
        if kind == "application/npygz":
            data = np.load(io.BytesIO(zlib.decompress(body)), allow_pickle=False)
        else:
            data = _NumpyOnly(io.BytesIO(blosc.decompress(body))).load()
    except EOFError:
        raise errors.BossError(errors.DATA_DIMENSION_MISMATCH, "Failed to unpack data. Verify the datatype of "
                               "your POSTed data and xyz dimensions used in the POST URL.") from None
    except Exception as exc:
        raise ServerError(f"unreadable {kind} upload: {exc}") from None
    if not isinstance(data, np.ndarray):
        raise ServerError(f"the {kind} upload is not an array")
    return data


def _checked_write(channel, box, data, black=False):
    """spdb's write_cuboid: only at the base resolution or the level above it."""
    base = channel.base_resolution
    if box.r not in (base, base + 1):
        code = errors.BAD_REQUEST if black else errors.BOSS_SYSTEM_ERROR
        raise errors.BossError(code, "Error during write_cuboid: You can only write data to a channel's base "
                               f"resolution or one resolution above it. Base Resolution: {base}, Request "
                               f"Resolution: {box.r}")
    if data.ndim == 3:
        data = data[None]
    writes.write(channel, box.r, box.x, box.y, box.z, box.t[0], data, black=black)
    if channel.downsample_status.upper() == "DOWNSAMPLED":
        channel.downsample_status = "NOT_DOWNSAMPLED"
        channel.save(update_fields=["downsample_status"])


def _writable_channel(user, c, e, ch):
    channel = access.get_channel(user, c, e, ch)
    if not _can_add_volume(user, channel):
        raise errors.BossError(errors.MISSING_PERMISSION, "This user does not have the required permissions")
    return channel


def _write(request, c, e, ch, r, x, y, z, t):
    user = _caller(request, writing=True)
    kind = request.content_type
    if not request.META.get("CONTENT_LENGTH") or not kind:
        if forgiven(1):
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, "The cutout POST has no body.")
        raise ServerError("DRF parsed an empty body as {}: request.data[0] raises KeyError")
    if kind not in UPLOAD_TYPES:
        message = f'Unsupported media type "{kind}" in request.'
        raise DrfError(415, message, forgiving=errors.BossError(errors.INVALID_POST_ARGUMENT, message, 415))
    channel = _writable_channel(user, c, e, ch)
    box = _box(channel, r, x, y, z, t)
    _check_size(channel, box)
    data = _decode(request, channel, box)
    if data.dtype != np.dtype(channel.datatype):
        raise errors.BossError(errors.DATATYPE_DOES_NOT_MATCH, "Datatype does not match channel")
    expected = box.shape if data.ndim == 4 else box.shape[1:]
    if data.shape != expected:
        raise errors.BossError(errors.DATA_DIMENSION_MISMATCH, "Data dimensions in URL do not match POSTed data.")
    _throttle("ingress", user, request, channel, box)
    _checked_write(channel, box, data)
    return HttpResponse(status=201)


@csrf_exempt
def to_black(request, c, e, ch, r, x, y, z, t=None):
    """PUT: set a region to 0 (intern's create_cutout_to_black); 200."""
    if not realboss.routes(names=(c, e, ch), r=r, ranges=(x, y, z), t=t):
        return realboss.not_found()
    try:
        refused = realboss.check_json_accept(request)
        if refused is not None:
            return refused
        if request.method != "PUT":
            message = f'Method "{request.method}" not allowed.'
            raise DrfError(405, message, forgiving=errors.BossError(errors.BAD_REQUEST, message, 405))
        user = _caller(request, writing=True)
        channel = _writable_channel(user, c, e, ch)
        box = _box(channel, r, x, y, z, t)
        try:
            _check_size(channel, box)
        except errors.BossError:
            raise errors.BossError(errors.REQUEST_TOO_LARGE, "Cutout overwrite is over 500MB when uncompressed. "
                                   "Reduce overwrite dimensions.") from None
        # BOSS blacks out every time sample only when more than two were asked for; else the first one.
        samples = box.shape[0] if box.shape[0] > 2 or forgiven(10) else 1
        black = np.broadcast_to(np.ones(1, dtype=channel.datatype), (samples, *box.shape[1:]))
        _checked_write(channel, box, black, black=True)
        return HttpResponse(status=200)
    except errors.BossError as exc:
        return exc.response()
    except DrfError as exc:
        return realboss.render_drf_error(exc, "application/json")
    except Exception:
        log.exception("devboss to_black failed")
        return errors.error_response(errors.UNHANDLED_EXCEPTION, "Unexpected devboss error.", 500)
