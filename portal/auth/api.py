"""The JSON API's bearer authentication: the provider's userinfo endpoint says whose token it is.

mozilla-django-oidc's DRF class does the checking; our backend finds the portal user by the allauth
SocialAccount whose uid is the token's `sub` (OIDC_CREATE_USER is False: a user logs in once in a
browser before their scripts can use the API), and caches userinfo answers briefly, since it would
otherwise call the provider on every request.
"""
import hashlib

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from mozilla_django_oidc.utils import import_from_settings
from rest_framework import exceptions

from bossdb.session import Credential, jwt_expiry
from portal.auth import oidc
from portal.auth.signals import bearer_authenticated


class ProviderUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The login service is unreachable; try again later."
    default_code = "provider_unavailable"


class SocialAccountOIDCBackend(OIDCAuthenticationBackend):
    @staticmethod
    def get_settings(attr, *args):
        # Endpoints follow OIDC_SERVER_URL (Keycloak's paths) unless set explicitly.
        if attr.startswith("OIDC_OP_") and attr.endswith("_ENDPOINT"):
            name = attr[len("OIDC_OP_"):-len("_ENDPOINT")]
            if name in oidc.KEYCLOAK_PATHS:
                return oidc.endpoint(name)
        return import_from_settings(attr, *args)

    def get_userinfo(self, access_token, id_token, payload):
        key = "oidc-userinfo:" + hashlib.sha256(access_token.encode()).hexdigest()
        claims = cache.get(key)
        if claims is None:
            claims = super().get_userinfo(access_token, id_token, payload)
            cache.set(key, claims, settings.OIDC_USERINFO_CACHE_SECONDS)
        return claims

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return get_user_model().objects.filter(
            socialaccount__provider=settings.OIDC_PROVIDER_ID, socialaccount__uid=str(claims["sub"])
        )

    def describe_user_by_claims(self, claims):
        return f"sub {claims.get('sub')}"


class OIDCBearerAuthentication(OIDCAuthentication):
    """`Authorization: Bearer <access token>`; the token becomes the caller's BOSS credential."""

    def __init__(self, backend=None):
        super().__init__(backend or SocialAccountOIDCBackend())

    def authenticate(self, request):
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            if "No user found" in str(exc.detail):
                raise exceptions.AuthenticationFailed(
                    "No portal account for this token: log in to the portal once in a browser."
                ) from None
            raise
        except requests.HTTPError as exc:
            # 4xx: the provider refused the token (a malformed or oversized one gets 400, not 401).
            if exc.response is not None and 400 <= exc.response.status_code < 500:
                raise exceptions.AuthenticationFailed("Invalid or expired token.") from None
            raise ProviderUnavailable() from None
        except requests.RequestException:
            raise ProviderUnavailable() from None
        if result is None:
            return None
        user, token = result
        credential = Credential("Bearer", token, expires=jwt_expiry(token))
        user.boss_credential = credential
        request._request.boss_credential = credential
        bearer_authenticated.send(sender=None, user=user, credential=credential)
        return user, credential
