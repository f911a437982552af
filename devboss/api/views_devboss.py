"""devboss's own routes, not BOSS's: /devboss/faults, /devboss/stats, /devboss/forgive, /devboss/throttle
(fault injection, cutout counts, forgiven real-BOSS behaviours, byte quotas)."""
import json

from django.http import JsonResponse

from . import errors, realboss, throttle
from . import faults as injection
from .auth import authenticate
from .views_volume import _guard, _only_get


def _staff(request):
    user = authenticate(request)
    if not (user.is_authenticated and user.is_staff):
        raise errors.BossError(errors.MISSING_ROLE, "Only staff (admin) may change devboss settings.")
    return user


def _json_body(request):
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise errors.BossError(errors.INVALID_POST_ARGUMENT, "The request body is not valid JSON.")


@_guard
def faults(request):
    """GET the fault settings; POST JSON overrides (staff); DELETE restores the defaults (staff)."""
    if request.method == "GET":
        return JsonResponse(injection.current())
    _staff(request)
    if request.method == "POST":
        return JsonResponse(injection.update(injection.validate(_json_body(request))))
    if request.method == "DELETE":
        return JsonResponse(injection.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)


@_guard
def stats(request):
    """GET cutout requests served per channel ("c/e/ch"), counted across all workers; DELETE resets."""
    if request.method == "DELETE":
        return JsonResponse(injection.reset_stats())
    _only_get(request)
    return JsonResponse(injection.stats())


@_guard
def forgive(request):
    """GET which real-BOSS behaviours are switched off; POST {"forgive": [1, 6]} (or "1,6", "all", []) replaces
    the list (staff); DELETE goes back to env DEVBOSS_FORGIVE (staff)."""
    if request.method == "GET":
        return JsonResponse(realboss.describe())
    _staff(request)
    if request.method == "POST":
        body = _json_body(request)
        if not isinstance(body, dict) or set(body) != {"forgive"}:
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, 'Expected {"forgive": [behaviour numbers]}.')
        try:
            return JsonResponse(realboss.set_forgiven(body["forgive"]))
        except ValueError as exc:
            raise errors.BossError(errors.INVALID_POST_ARGUMENT, str(exc)) from None
    if request.method == "DELETE":
        return JsonResponse(realboss.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)


@_guard
def throttling(request):
    """GET the byte quotas and this period's usage; POST changes them (staff; devboss.api.throttle);
    DELETE drops every run-time limit and all usage (staff)."""
    if request.method == "GET":
        return JsonResponse(throttle.describe())
    _staff(request)
    if request.method == "POST":
        return JsonResponse(throttle.update(_json_body(request)))
    if request.method == "DELETE":
        return JsonResponse(throttle.reset())
    raise errors.BossError(errors.BAD_REQUEST, f"{request.method} is not supported here.", 405)
