"""What the real BOSS does that a friendlier server would forgive, and the switch that forgives it.

devboss reproduces, by default, ten behaviours of the real server (api.bossdb.io; numbered as in
/work/shared/real-boss.md and README.md "Demo data (devboss)"):

 1. DRF-level errors on the cutout route (a rejected or expired token, an anonymous write, an Accept no
    renderer satisfies, an unsupported method or body type) go through the negotiated *binary* renderer
    (blosc, blosc-python, npygz, jpeg), which only handles 403 and 429: the answer is a 500 text/html page.
 2. Cutout and ids ranges are checked against the level-0 frame bounds at every resolution.
 3. Experiments created without time_step/time_step_unit keep them null.
 4. Channels not downsampled: annotation reads off the base level answer 500, image levels above the
    base that were never built read back as zeros.
 5. Valid cutout levels are base_resolution ... base_resolution + levels - 1.
 6. Byte quotas per user on cutout GETs (and POSTs), 429 once over (devboss.api.throttle).
 7. The downsample route answers 400/9001 for anisotropic frames whose x and y voxel sizes differ.
 8. Object ids and bounding boxes come from an index; channels without one list no ids over whole cuboids
    and have no bounding boxes.
 9. CloudVolume channels ignore the time range, `filter` and `iso`, and never see cutout writes.
10. JSON cutouts answer 500, JSON routes refuse an Accept they can't satisfy (406), unrouted URLs get an
    HTML 404.

`forgiven(n)` is True when behaviour n is switched off: env DEVBOSS_FORGIVE (comma-separated numbers, or
"all"), overridden at run time by staff through POST /devboss/forgive {"forgive": [1, 6]} (shared by every
worker through VAR_DIR/forgive.json; DELETE goes back to the environment's list).
"""
import os
import re

from django.http import HttpResponse, JsonResponse

from . import errors
from .shared import SharedJson

BEHAVIOURS = range(1, 11)
_state = SharedJson("forgive.json")


def parse(text):
    """"1,6" -> {1, 6}; "all" -> every behaviour; raises ValueError on anything else."""
    text = (text or "").strip().lower()
    if text in ("all", "*"):
        return set(BEHAVIOURS)
    found = set()
    for part in filter(None, (p.strip() for p in text.replace(" ", ",").split(","))):
        if not part.isdigit() or int(part) not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {part!r}: expected numbers 1 to 10 or 'all'")
        found.add(int(part))
    return found


def from_environment():
    try:
        return parse(os.environ.get("DEVBOSS_FORGIVE", ""))
    except ValueError:
        return set()


def current():
    """The behaviours switched off now."""
    data = _state.read()
    if "forgive" in data:
        return set(data["forgive"])
    return from_environment()


def forgiven(number):
    return number in current()


def strict(number):
    """True when behaviour `number` is reproduced (the default)."""
    return not forgiven(number)


def describe():
    return {"forgive": sorted(current()), "environment": sorted(from_environment()),
            "overridden": "forgive" in _state.read()}


def set_forgiven(values):
    if isinstance(values, str):
        values = parse(values)
    elif isinstance(values, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        if any(v not in BEHAVIOURS for v in values):
            raise ValueError("behaviour numbers go from 1 to 10")
        values = set(values)
    else:
        raise ValueError('expected {"forgive": [numbers]} or {"forgive": "1,6"} or {"forgive": "all"}')
    _state.write({"forgive": sorted(values)})
    return describe()


def reset():
    _state.delete()
    return describe()


# ---- the real server's non-JSON answers -----------------------------------------------------------------

def server_error():
    """Django's default 500 page (DEBUG off, no 500.html template), as BOSS sends it."""
    return HttpResponse("<h1>Server Error (500)</h1>", status=500, content_type="text/html")


NOT_FOUND_PAGE = ("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n"
                  "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n")


def not_found():
    """Django's default 404 page for an unrouted URL."""
    return HttpResponse(NOT_FOUND_PAGE, status=404, content_type="text/html")


class ServerError(Exception):
    """An unhandled exception on the real server (e.g. spdb's SpdbError): answered with the HTML 500 page."""


# ---- DRF-level errors (raised before or around a view, rendered by the negotiated renderer) -------------

BINARY = ("application/blosc", "application/blosc-python", "application/npygz", "image/jpeg")


class DrfError(Exception):
    """An APIException: 401 NotAuthenticated/AuthenticationFailed, 406, 405, 415, 429 Throttled."""

    def __init__(self, status, detail, forgiving=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.forgiving = forgiving  # the BossError devboss answered with before (behaviour 1 forgiven)


def render_drf_error(exc, media):
    """How DRF renders an APIException through the renderer `media` on the cutout route."""
    if media in BINARY:
        if exc.status == 403:
            return JsonResponse({"status": 403, "message": "Access denied, are you logged in?",
                                 "code": errors.ACCESS_DENIED_UNKNOWN}, status=403)
        if exc.status == 429:
            return JsonResponse({"status": 429, "message": exc.detail, "code": errors.ACCESS_DENIED_UNKNOWN},
                                status=429)
        if forgiven(1) and exc.forgiving is not None:
            return exc.forgiving.response()
        if forgiven(1):
            return errors.error_response(errors.BAD_REQUEST, exc.detail, exc.status)
        # The binary renderer reads data["data"] from {"detail": ...}: KeyError, an unhandled exception.
        return server_error()
    if media == "text/html":  # DRF's browsable API renders the error as a page
        return HttpResponse(f"<h1>{exc.status}</h1><p>{exc.detail}</p>", status=exc.status, content_type="text/html")
    if exc.forgiving is not None:  # a 401 on a JSON rendering: devboss's JSON error, as on its other routes
        return exc.forgiving.response()
    return JsonResponse({"detail": exc.detail}, status=exc.status)


def from_auth_error(exc):
    """devboss's 401 BossError (auth.authenticate) as the DRF exception BOSS raises."""
    return DrfError(401, exc.message, forgiving=exc)


# ---- JSON routes: DRF's JSONRenderer and BrowsableAPIRenderer only -------------------------------------

JSON_ACCEPTABLE = re.compile(r"^(\*/\*|application/\*|application/json|text/\*|text/html)$")


def check_json_accept(request):
    """A JSON route (DRF's default renderers) asked for something else: 406 {"detail": ...} (behaviour 10)."""
    header = request.META.get("HTTP_ACCEPT", "").strip()
    if not header or forgiven(10):
        return None
    for part in header.split(","):
        media = part.split(";")[0].strip().lower()
        if JSON_ACCEPTABLE.match(media):
            return None
    return JsonResponse({"detail": "Could not satisfy the request Accept header."}, status=406)


# ---- routes: the real server's URL patterns ------------------------------------------------------------

NAME = re.compile(r"^[\w-]+$")
RESOLUTION = re.compile(r"^\d$")
RANGE = re.compile(r"^\d+:\d+$")
T_RANGE = re.compile(r"^\d+:\d+$")


def routes(names=(), r=None, ranges=(), t=None, number=None):
    """True if the URL's segments match BOSS's patterns; devboss's own routes match loosely so that, with
    behaviour 10 forgiven, malformed segments get a JSON error instead of the HTML 404."""
    if forgiven(10):
        return True
    if not all(NAME.match(n or "") for n in names):
        return False
    if r is not None and not RESOLUTION.match(r):
        return False
    if not all(RANGE.match(v or "") for v in ranges):
        return False
    if t is not None and not T_RANGE.match(t):
        return False
    if number is not None and not re.match(r"^\d+$", number):
        return False
    return True
