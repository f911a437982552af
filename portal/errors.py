"""BOSS errors become pages (or JSON for the API) here, and nowhere else.

Views wrap themselves in @boss_errors; they never catch BossError. LoginRequired is left to the login
middleware (portal/middleware.py), which sends the visitor to log in.
"""
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from bossdb.errors import (
    BossError, BossForbidden, BossNotFound, BossThrottled, BossTimeout, BossUnavailable, LoginRequired,
)

PAGES = [
    # (class, status, title): subclasses before their parents (BossTimeout is a BossUnavailable).
    (BossForbidden, 403, "You don't have access to this"),
    (BossNotFound, 404, "Not found"),
    (BossThrottled, 429, "BOSS's download quota is used up"),
    (BossTimeout, 504, "BOSS did not answer in time"),
    (BossUnavailable, 502, "BOSS is unreachable"),
]


def _status_and_title(exc):
    for cls, status, title in PAGES:
        if isinstance(exc, cls):
            return status, title
    return exc.status if 400 <= exc.status < 600 else 502, "BOSS could not answer this request"


def wants_json(request):
    return request.path.startswith("/api/") or request.GET.get("format") == "json"


def boss_error_response(request, exc):
    status, title = _status_and_title(exc)
    if wants_json(request):
        return JsonResponse({"error": title, "detail": exc.message, "status": status}, status=status)
    login_url = settings.LOGIN_URL + "?" + urlencode({"next": request.get_full_path()})
    context = {"title": title, "detail": exc.message, "status": status, "login_url": login_url,
               "forbidden": status == 403, "retry": status in (502, 504),
               "throttled": status == 429, "anonymous": not request.user.is_authenticated}
    return render(request, "portal/boss_error.html", context, status=status)


def boss_errors(view):
    """Turn a BossError raised by `view` (a Django or DRF view function) into an error page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except LoginRequired:
            raise
        except BossError as exc:
            return boss_error_response(request, exc)

    return wrapper


def not_found(request, exception):
    """The 404 of a URL that matches no route (handler404): JSON under /api/, as the API's own 404s are, so a
    script sent to a mistyped or malformed API URL (a job id that is no UUID) can still read the answer."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "Not found", "detail": "No such API URL.", "status": 404}, status=404)
    return defaults.page_not_found(request, exception)
