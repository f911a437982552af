"""Byte quotas on cutouts, as BOSS's BossThrottle (boss: django/boss/throttling.py) applies them (behaviour 6).

Cutout GETs are metered as `egress`, cutout POSTs as `ingress`, in bytes (x*y*z*t*bits/8 of the request),
at three levels: the user (`user:<username>`), the API (`api:cutout`) and the system (`system`). Like BOSS:

* the check happens *before* the cost is added, and only refuses when the usage is already over the limit
  (`limit > 0 and usage > limit`), so the request that crosses the limit still succeeds;
* the levels are checked in order user, api, system, each adding the cost once it passed;
* a refusal is DRF's Throttled: 429 {"detail": "User is throttled. Expected available tomorrow."} (or "API is",
  "System is"), which the binary cutout renderers turn into {"status": 429, "message": ..., "code": 3004};
  no Retry-After;
* usage starts again from 0 every day, as the message promises (BOSS itself resets it when the month changes:
  `DEVBOSS_THROTTLE_PERIOD=month`);
* callers with `Token public` are the one account `public-access` (every anonymous visitor of a portal shares
  its quota); callers with no Authorization header at all are Django's AnonymousUser, username "", metered as
  `user:` (BOSS does the same).

Default limits (bytes, -1 = unlimited): env DEVBOSS_THROTTLE_BYTES (egress per user and day, 64 GiB),
DEVBOSS_THROTTLE_API_BYTES, DEVBOSS_THROTTLE_SYSTEM_BYTES, DEVBOSS_THROTTLE_INGRESS_BYTES (per user),
all -1 by default. Staff change them at run time (POST /devboss/throttle), with BOSS's own JSON shapes:
{"metrics": [{"mtype": "egress", "def_user_limit": "10G"}], "thresholds": [{"metric": "user:alice",
"mtype": "egress", "limit": 1000}], "reset_usage": true}. Everything lives in VAR_DIR/throttle.json, shared
by every worker.
"""
import datetime
import os

from .shared import SharedJson

MTYPES = ("egress", "ingress")
LEVELS = ("user", "api", "system")
DETAIL = {
    "user": "User is throttled. Expected available tomorrow.",
    "api": "API is throttled. Expected available tomorrow.",
    "system": "System is throttled. Expected available tomorrow.",
}
PUBLIC_ACCOUNT = "public-access"
GiB = 1024**3

_state = SharedJson("throttle.json")


class Throttled(Exception):
    def __init__(self, level):
        super().__init__(DETAIL[level])
        self.level = level
        self.detail = DETAIL[level]


def _env_limit(name, default):
    try:
        return parse_limit(os.environ.get(name, default))
    except ValueError:
        return int(default)


def default_metrics():
    return {
        "egress": {"def_user_limit": _env_limit("DEVBOSS_THROTTLE_BYTES", 64 * GiB),
                   "def_api_limit": _env_limit("DEVBOSS_THROTTLE_API_BYTES", -1),
                   "def_system_limit": _env_limit("DEVBOSS_THROTTLE_SYSTEM_BYTES", -1)},
        "ingress": {"def_user_limit": _env_limit("DEVBOSS_THROTTLE_INGRESS_BYTES", -1),
                    "def_api_limit": -1, "def_system_limit": -1},
    }


def parse_limit(limit):
    """BOSS's MetricDatabase.parseLimit: ints, or strings like "512", "10K", "5M", "2G", "1T" (powers of 1024)."""
    if isinstance(limit, bool):
        raise ValueError("a limit is a number of bytes")
    if isinstance(limit, int):
        return limit
    if isinstance(limit, float) and limit.is_integer():
        return int(limit)
    if not isinstance(limit, str) or not limit.strip():
        raise ValueError(f"invalid limit {limit!r}")
    text = limit.strip()
    scalar = 1
    if text[-1:].upper() in "KMGT" and not text.lstrip("-").isdigit():
        scalar = 1024 ** ("KMGT".index(text[-1].upper()) + 1)
        text = text[:-1].strip()
    try:
        return int(text) * scalar
    except ValueError:
        raise ValueError(f"invalid limit {limit!r}") from None


def period():
    today = datetime.date.today()
    if os.environ.get("DEVBOSS_THROTTLE_PERIOD", "day").lower() == "month":
        return today.strftime("%Y-%m")
    return today.isoformat()


def account(user, request):
    """The username BOSS meters: the user's; `public-access` for `Token public`; "" with no credentials."""
    if user.is_authenticated:
        return user.username
    header = request.META.get("HTTP_AUTHORIZATION", "").strip().split()
    if len(header) == 2 and header[0].lower() == "token" and header[1] == "public":
        return PUBLIC_ACCOUNT
    return ""


def _metrics(data):
    merged = default_metrics()
    for mtype, values in data.get("metrics", {}).items():
        merged.setdefault(mtype, {}).update(values)
    return merged


def _limit(data, metrics, name, mtype):
    threshold = data.get("thresholds", {}).get(mtype, {}).get(name)
    if threshold is not None:
        return threshold
    level = name.split(":", 1)[0]
    return metrics[mtype][f"def_{level}_limit"]


def _usage(data, mtype):
    """The usage table of the current period (cleared when the period changed)."""
    usage = data.setdefault("usage", {})
    if usage.get("period") != period():
        usage.clear()
        usage["period"] = period()
    return usage.setdefault(mtype, {})


def check(mtype, username, cost, api="cutout"):
    """BossThrottle.check: raise Throttled, or add `cost` at each level. Does nothing when forgiven."""
    from .realboss import forgiven

    if forgiven(6):
        return
    refused = None
    with _state.update() as data:
        metrics = _metrics(data)
        usage = _usage(data, mtype)
        for level, name in (("user", f"user:{username}"), ("api", f"api:{api}"), ("system", "system")):
            limit = _limit(data, metrics, name, mtype)
            current = usage.get(name, 0)
            if limit > 0 and current > limit:
                refused = level  # the usage added at the levels before stays, as in BOSS
                break
            usage[name] = current + cost
    if refused:
        raise Throttled(refused)


def describe():
    data = _state.read()
    metrics = _metrics(data)
    usage = data.get("usage", {})
    same_period = usage.get("period") == period()
    return {
        "period": period(),
        "metrics": [{"mtype": m, "units": "byte_count", **metrics[m]} for m in MTYPES],
        "thresholds": [{"metric": name, "mtype": mtype, "limit": limit}
                       for mtype, table in sorted(data.get("thresholds", {}).items())
                       for name, limit in sorted(table.items())],
        "usage": [{"metric": name, "mtype": mtype, "limit": _limit(data, metrics, name, mtype), "value": value}
                  for mtype in MTYPES for name, value in sorted((usage.get(mtype, {}) if same_period else {}).items())],
    }


def _bad(message):
    from . import errors

    return errors.BossError(errors.INVALID_POST_ARGUMENT, message)


def update(body):
    """Apply a staff POST: {"metrics": [...], "thresholds": [...], "reset_usage": bool} (BOSS's shapes)."""
    if not isinstance(body, dict) or not body or set(body) - {"metrics", "thresholds", "reset_usage", "usage"}:
        raise _bad('Expected a JSON object with some of "metrics", "thresholds", "reset_usage", "usage".')
    try:
        with _state.update() as data:
            for m in body.get("metrics", []):
                if not isinstance(m, dict) or m.get("mtype") not in MTYPES:
                    raise ValueError(f"each metric needs an mtype among {list(MTYPES)}")
                values = data.setdefault("metrics", {}).setdefault(m["mtype"], {})
                for key in ("def_user_limit", "def_api_limit", "def_system_limit"):
                    if key in m:
                        values[key] = parse_limit(m[key])
            for t in body.get("thresholds", []):
                if not isinstance(t, dict) or t.get("mtype") not in MTYPES or not isinstance(t.get("metric"), str) \
                        or t["metric"].split(":", 1)[0] not in LEVELS or "limit" not in t:
                    raise ValueError('each threshold needs "metric" (user:<name>, api:cutout or system), '
                                     '"mtype" and "limit"')
                data.setdefault("thresholds", {}).setdefault(t["mtype"], {})[t["metric"]] = parse_limit(t["limit"])
            if body.get("reset_usage"):
                data.pop("usage", None)
            for u in body.get("usage", []):  # set a usage value directly: {"metric", "mtype", "value"}
                if not isinstance(u, dict) or u.get("mtype") not in MTYPES or not isinstance(u.get("metric"), str):
                    raise ValueError('each usage needs "metric", "mtype" and "value"')
                _usage(data, u["mtype"])[u["metric"]] = parse_limit(u.get("value", 0))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    return describe()


def reset():
    _state.delete()
    return describe()

