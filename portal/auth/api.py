"""The JSON API's bearer authentication: the provider's userinfo endpoint says whose token it is.

mozilla-django-oidc's DRF class does the checking; our backend finds the portal user by the allauth
SocialAccount whose uid is the token's `sub`, and caches userinfo answers briefly, since it would otherwise
call the provider on every request.

First contact: a valid token of someone the portal has never seen creates their account from the provider's
userinfo exactly as a first browser login would (allauth's provider and adapter build the same User,
SocialAccount and e-mail address from the same claims: username from preferred_username, made unique, e-mail,
given and family name), so a script never needs a browser first. A later browser login finds that account by
`sub`.
"""
import hashlib
import logging

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from mozilla_django_oidc.utils import import_from_settings
from rest_framework import exceptions

from bossdb.session import Credential, jwt_expiry
from portal.auth import oidc
from portal.auth.signals import bearer_authenticated

log = logging.getLogger(__name__)


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

    def get_or_create_user(self, access_token, id_token, payload):
        # Always create on first contact (see the module's doc), whatever OIDC_CREATE_USER says: that setting
        # is mozilla-django-oidc's own user creation (hashed e-mail usernames), which this backend replaces.
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is None:
            user = self.create_user(self.get_userinfo(access_token, id_token, payload))
        return user

    def create_user(self, claims):
        """The portal account for `claims`, made as allauth makes it at a first browser login."""
        from allauth.socialaccount.adapter import get_adapter

        request = getattr(self, "request", None)
        adapter = get_adapter(request)
        provider = adapter.get_provider(request, settings.OIDC_PROVIDER_ID)
        sociallogin = provider.sociallogin_from_response(request, {"userinfo": claims})
        _settle_like_a_browser_signup(request, sociallogin)
        try:
            with transaction.atomic():
                user = adapter.save_user(request, sociallogin, form=None)
        except IntegrityError:  # a concurrent first call of the same user made the account first
            user = self.filter_users_by_claims(claims).first()
            if user is None:
                raise
            return user
        log.info("new portal account %s from a first API call (sub %s)", user.pk, claims.get("sub"))
        return user


def _settle_like_a_browser_signup(request, sociallogin):
    """What allauth's automatic signup checks before it saves (allauth.socialaccount.internal.flows.signup):
    an e-mail address another account holds stops it (the browser would show a signup form; a script is told
    to log in once in a browser), and a username that is taken or invalid is replaced by a unique one."""
    from allauth.account.adapter import get_adapter as get_account_adapter
    from allauth.account.internal.flows.manage_email import assess_unique_email
    from allauth.account.utils import user_username
    from django.core.exceptions import ValidationError

    if sociallogin.email_addresses and assess_unique_email(sociallogin.email_addresses[0].email) is not True:
        raise exceptions.AuthenticationFailed(
            "Another portal account has this token's e-mail address: log in to the portal once in a browser.")
    try:
        get_account_adapter(request).clean_username(user_username(sociallogin.user))
    except ValidationError:
        user_username(sociallogin.user, "")


class OIDCBearerAuthentication(OIDCAuthentication):
    """`Authorization: Bearer <access token>`; the token becomes the caller's BOSS credential."""

    def __init__(self, backend=None):
        super().__init__(backend or SocialAccountOIDCBackend())

    def authenticate(self, request):
        self.backend.request = request._request  # for allauth, should this be a first contact
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            if "No user found" in str(exc.detail):  # claims without a `sub`: no account can be made
                raise exceptions.AuthenticationFailed("The provider vouches for no user with this token.") from None
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
