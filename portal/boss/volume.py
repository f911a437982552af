"""Voxel reads from BOSS: one cuboid-aligned block per call, through intern, errors as named exceptions."""
import numpy as np
import requests
from intern.resource.boss.resource import ChannelResource

from portal.boss.errors import (
    BossBadRequest, BossError, BossForbidden, BossNotFound, BossTimeout, BossUnavailable,
)


def boss_message(response):
    """BOSS's own error message from its JSON body ({"status", "code", "message"} or {"detail"})."""
    try:
        body = response.json()
    except ValueError:
        return f"BOSS answered HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body)[:500]
    return f"BOSS answered HTTP {response.status_code}"


def error_from_response(response):
    status = response.status_code
    message = boss_message(response)
    if status in (401, 403):
        return BossForbidden(message, status)
    if status == 404:
        return BossNotFound(message, status)
    if status in (400, 406, 409, 413):
        return BossBadRequest(message, status)
    if status == 504:
        return BossTimeout(message, status)
    return BossUnavailable(message, status)


def read_block(remote, collection, experiment, channel, datatype, resolution, x, y, z, t=None):
    """A (Z, Y, X) array (or (T, Z, Y, X) when `t` is given) of the half-open box, read in one request.

    The box must be small enough for one request (the cutout planner makes it so): intern's
    `parallel=False` is ignored above ~60 M voxels, and its parallel mode can't run in a Celery worker.
    """
    resource = ChannelResource(channel, collection, experiment, datatype=datatype)
    try:
        data = remote.get_cutout(
            resource, resolution, list(x), list(y), list(z), time_range=list(t) if t else None, parallel=False
        )
    except requests.HTTPError as exc:
        if exc.response is None:
            raise BossUnavailable(str(exc)) from exc
        raise error_from_response(exc.response) from exc
    except requests.Timeout as exc:
        raise BossTimeout("BOSS did not answer in time") from exc
    except requests.RequestException as exc:
        # connection refused or reset, a response cut short (content shorter than its length), ...
        raise BossUnavailable(f"BOSS connection failed: {type(exc).__name__}") from exc
    except BossError:
        raise
    except Exception as exc:  # undecodable body (blosc, reshape): treat as a transient bad answer
        raise BossUnavailable(f"BOSS sent an unreadable cutout ({type(exc).__name__})") from exc
    expected = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
    if t:
        expected = (t[1] - t[0], *expected)
    if data.shape != expected or data.dtype != np.dtype(datatype):
        raise BossUnavailable(f"BOSS sent a block of shape {data.shape} {data.dtype}, expected {expected} {datatype}")
    return data
