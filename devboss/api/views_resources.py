"""Resource endpoints (collections, coordinate frames, experiments, channels, metadata). Stub: see helper."""
from .errors import error_response


def _todo(request, **kwargs):
    return error_response(9000, "Not implemented yet.", 404)


ping = collection_list = collection_detail = coord_list = coord_detail = _todo
experiment_list = experiment_detail = channel_list = channel_detail = metadata = _todo
unsupported_version = not_found = _todo
