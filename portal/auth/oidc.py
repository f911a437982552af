"""The OIDC provider's endpoints and the two token calls allauth doesn't make: refresh and revoke.

Endpoints are Keycloak's paths under the issuer (settings.OIDC_SERVER_URL), which devboss copies;
each can be overridden with OIDC_OP_<NAME>_ENDPOINT. Tokens travel in POST bodies only, never in
URLs, and never reach a log line.
"""
import logging

import requests
from django.conf import settings

log = logging.getLogger(__name__)

KEYCLOAK_PATHS = {
    "AUTHORIZATION": "/protocol/openid-connect/auth",
    "TOKEN": "/protocol/openid-connect/token",
    "USER": "/protocol/openid-connect/userinfo",
    "JWKS": "/protocol/openid-connect/certs",
    "LOGOUT": "/protocol/openid-connect/logout",
    "REVOKE": "/protocol/openid-connect/revoke",
}


class RefreshFailed(Exception):
    """The provider refused the refresh token (expired, revoked, reused): the user must log in again."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered garbage."""


def endpoint(name):
    """The URL of endpoint `name` (a KEYCLOAK_PATHS key)."""
    explicit = getattr(settings, f"OIDC_OP_{name}_ENDPOINT", None)
    return explicit or settings.OIDC_SERVER_URL.rstrip("/") + KEYCLOAK_PATHS[name]


def _client_auth():
    return {"client_id": settings.OIDC_CLIENT_ID, "client_secret": settings.OIDC_CLIENT_SECRET}


def refresh(refresh_token):
    """POST grant_type=refresh_token; returns the token response (access_token, expires_in, refresh_token?).

    Reference: RFC 6749 section 6; Keycloak and DOT both rotate the refresh token.
    """
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **_client_auth()}
    try:
        response = requests.post(endpoint("TOKEN"), data=data, timeout=settings.OIDC_TIMEOUT)
    except requests.RequestException as exc:
        log.warning("token refresh: provider unreachable (%s)", type(exc).__name__)
        raise ProviderUnavailable("The login service is unreachable.") from None
    if 400 <= response.status_code < 500:
        log.info("token refresh refused by the provider: HTTP %s", response.status_code)
        raise RefreshFailed()
    if response.status_code != 200:
        log.warning("token refresh: provider answered HTTP %s", response.status_code)
        raise ProviderUnavailable("The login service answered with an error.")
    try:
        body = response.json()
        body["access_token"]
    except (ValueError, KeyError, TypeError):
        raise ProviderUnavailable("The login service sent an unreadable answer.") from None
    return body


def revoke(token, hint="refresh_token"):
    """Best effort: revoke a token at logout (RFC 7009). Failures are logged, never raised."""
    data = {"token": token, "token_type_hint": hint, **_client_auth()}
    try:
        response = requests.post(endpoint("REVOKE"), data=data, timeout=settings.OIDC_TIMEOUT)
        if response.status_code != 200:
            log.info("token revocation: provider answered HTTP %s", response.status_code)
    except requests.RequestException as exc:
        log.info("token revocation: provider unreachable (%s)", type(exc).__name__)
