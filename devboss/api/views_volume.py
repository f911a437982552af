"""Volume endpoints (cutout, downsample, ids, boundingbox, reserve, faults). Stub: see helper."""
from .errors import error_response


def _todo(request, **kwargs):
    return error_response(9000, "Not implemented yet.", 404)


cutout = downsample = ids = boundingbox = reserve = faults = _todo
