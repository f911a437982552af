"""Turn LoginRequired (no usable BOSS credential) into "log in again", wherever a view raised it; and show
a clear page when the login service is down during the login flow (allauth lets that exception through)."""
import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import render

from bossdb.errors import LoginRequired

log = logging.getLogger(__name__)


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, LoginRequired):
            return self._login_again(request, exception)
        if isinstance(exception, requests.RequestException) and request.path.startswith("/accounts/"):
            log.warning("OIDC provider unreachable during login: %s", type(exception).__name__)
            context = {"auth_error": {"code": "provider_unavailable"}}
            return render(request, "socialaccount/authentication_error.html", context, status=503)
        return None

    def _login_again(self, request, exception):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": exception.message}, status=401)
        # The session is worthless without a token; ending it also keeps the login page from
        # bouncing an "authenticated" user straight back here.
        if request.user.is_authenticated:
            logout(request)
        messages.warning(request, exception.message)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
