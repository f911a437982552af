"""Logout (portal session, stored tokens, then the provider's end-session page) and /api/me/."""
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.auth import oidc, tokens


@require_http_methods(["GET", "POST"])
def logout_view(request):
    """GET asks to confirm; POST logs out here, revokes the refresh token, then logs out at the provider.

    RP-initiated logout sends client_id and post_logout_redirect_uri only (never a token in a URL), so
    the provider may ask the user to confirm, as Keycloak does.
    """
    if request.method == "GET":
        return render(request, "account/logout.html")
    was_logged_in = request.user.is_authenticated
    if was_logged_in:
        tokens.forget(request.user)
    logout(request)
    if not was_logged_in:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    params = {
        "client_id": settings.OIDC_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
    }
    return redirect(oidc.endpoint("LOGOUT") + "?" + urlencode(params))


class BearerScheme(OpenApiAuthenticationExtension):
    """The API's bearer token in the schema (portal/auth/api.py checks it at the provider)."""

    target_class = "portal.auth.api.OIDCBearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An access token from the BOSS identity provider (OpenID Connect); a user's "
                               "first call makes their portal account, as a first browser login would."}


AUTH_ERROR = inline_serializer("AuthError", {"detail": serializers.CharField()})


@extend_schema(operation_id="me_retrieve", summary="Who you are", responses={
    200: inline_serializer("Me", {"username": serializers.CharField(), "name": serializers.CharField(),
                                  "email": serializers.CharField()}),
    401: OpenApiResponse(AUTH_ERROR, description="no token, or the token was refused"),
    503: OpenApiResponse(AUTH_ERROR, description="the login service is unreachable"),
})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_me(request):
    """Who the API thinks you are (check a bearer token with it)."""
    user = request.user
    return Response({"username": user.username, "name": user.get_full_name(), "email": user.email})
