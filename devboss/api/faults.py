"""Fault injection for cutout GETs, and a count of the cutouts served, both shared by every worker process.

Defaults come from settings.DEVBOSS_FAULTS (env DEVBOSS_FAULT_*); `POST /devboss/faults` (staff) writes
overrides to a small JSON file in settings.VAR_DIR, which every gunicorn worker re-reads when its mtime
changes. Faults: a share of cutouts answered 500 JSON (`error_rate`), delayed by `delay_seconds`
(`delay_rate`), or cut short (`truncate_rate`: the Content-Length promises more than is sent and the
connection is dropped, which clients see as an incomplete read).
"""
import fcntl
import json
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.http import StreamingHttpResponse

from . import errors

KEYS = ("error_rate", "delay_rate", "delay_seconds", "truncate_rate")
RATES = ("error_rate", "delay_rate", "truncate_rate")
MAX_DELAY = 600.0

_cache = {"mtime": None, "values": {}}


def _faults_file():
    return Path(settings.VAR_DIR) / "faults.json"


def _stats_file():
    return Path(settings.VAR_DIR) / "stats.json"


def defaults():
    return {key: float(settings.DEVBOSS_FAULTS.get(key, 0.0)) for key in KEYS}


def current():
    """The fault settings in force: the defaults, overridden by the shared file (re-read only when it changes)."""
    path = _faults_file()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = None
    if mtime != _cache["mtime"]:
        try:
            values = json.loads(path.read_text()) if mtime is not None else {}
        except (OSError, ValueError):
            values = {}
        _cache.update(mtime=mtime, values=values)
    return {**defaults(), **{k: v for k, v in _cache["values"].items() if k in KEYS}}


def validate(data):
    """The overrides in a POST body, or BossError 400/1003."""
    if not isinstance(data, dict) or not data:
        raise errors.BossError(errors.INVALID_POST_ARGUMENT, f"Expected a JSON object with some of {list(KEYS)}.")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise errors.BossError(errors.INVALID_POST_ARGUMENT, f"Unknown fault settings: {unknown}.")
    values = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, f"{key} must be a number.")
        high = 1.0 if key in RATES else MAX_DELAY
        if not 0 <= value <= high:
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, f"{key} must be between 0 and {high:g}.")
        values[key] = float(value)
    return values


def _write_json(path, data):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # atomic: readers see the old or the new file, never half of one


def update(values):
    merged = {**{k: v for k, v in current().items() if k in KEYS}, **values}
    _write_json(_faults_file(), merged)
    return current()


def reset():
    _faults_file().unlink(missing_ok=True)
    return current()


def before_cutout():
    """Apply the delay and error faults; return True if this response should be truncated."""
    state = current()
    if state["delay_rate"] and random.random() < state["delay_rate"]:
        time.sleep(state["delay_seconds"])
    if state["error_rate"] and random.random() < state["error_rate"]:
        raise errors.BossError(errors.UNHANDLED_EXCEPTION, "Injected fault: simulated server error.", 500)
    return bool(state["truncate_rate"]) and random.random() < state["truncate_rate"]


class InjectedTruncation(Exception):
    """Raised mid-stream so that the server drops the connection after a partial body."""


def truncated_response(body, content_type):
    """A response whose Content-Length is the full body's but which sends only its first half."""

    def chunks():
        yield body[: len(body) // 2]
        raise InjectedTruncation("devboss fault injection: response cut short on purpose")

    response = StreamingHttpResponse(chunks(), content_type=content_type)
    response["Content-Length"] = str(len(body))
    return response


@contextmanager
def _locked_stats():
    path = _stats_file()
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
            yield data
            _write_json(path, data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def count_cutout(key):
    """Count one cutout GET served for channel `key` ("c/e/ch"), in the file shared by all workers."""
    with _locked_stats() as data:
        cutouts = data.setdefault("cutouts", {})
        cutouts[key] = cutouts.get(key, 0) + 1


def stats():
    try:
        data = json.loads(_stats_file().read_text())
    except (OSError, ValueError):
        data = {}
    cutouts = data.get("cutouts", {})
    return {"cutouts": cutouts, "total": sum(cutouts.values())}


def reset_stats():
    with _locked_stats() as data:
        data.clear()
    return stats()
