"""A logged-in user's BOSS access token, from allauth's SocialToken row, refreshed shortly before it expires.

SocialToken (SOCIALACCOUNT_STORE_TOKENS) holds the access token in `token`, the refresh token in
`token_secret` and `expires_at`. Concurrent requests must not both refresh: the provider rotates refresh
tokens, so the second refresh would present a used one and fail. A row lock serialises them, and the
loser re-reads the row and finds it fresh.
"""
from datetime import timedelta

from allauth.socialaccount.models import SocialToken
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.auth import oidc


class NoToken(Exception):
    """The user has no stored token (never logged in through the provider, or logged out)."""


def _is_due(token):
    if token.expires_at is None:
        return False
    margin = timedelta(seconds=settings.OIDC_REFRESH_MARGIN_SECONDS)
    return token.expires_at <= timezone.now() + margin


def _tokens_of(user):
    return SocialToken.objects.filter(account__user=user, account__provider=settings.OIDC_PROVIDER_ID)


def access_token(user):
    """The user's access token, refreshing it if due. Raises NoToken, oidc.RefreshFailed, ProviderUnavailable."""
    return current_token(user)[0]


def current_token(user):
    """(access token, its expiry as an aware datetime or None), refreshing it if due (as access_token)."""
    token = _tokens_of(user).order_by("-pk").first()
    if token is None:
        raise NoToken()
    if not _is_due(token):
        return token.token, token.expires_at
    with transaction.atomic():
        # The no-op UPDATE takes the write lock first, on SQLite (which ignores select_for_update and would
        # otherwise fail one of two upgrading readers) as on PostgreSQL (row lock).
        _tokens_of(user).filter(pk=token.pk).update(token_secret=F("token_secret"))
        token = _tokens_of(user).select_for_update().filter(pk=token.pk).first()
        if token is None:
            raise NoToken()
        if not _is_due(token):
            return token.token, token.expires_at  # another request refreshed it while we waited
        if not token.token_secret:
            token.delete()
            raise oidc.RefreshFailed()
        try:
            answer = oidc.refresh(token.token_secret)
        except oidc.RefreshFailed:
            token.delete()  # useless now; the next request goes straight to "log in again"
            raise
        token.token = answer["access_token"]
        token.token_secret = answer.get("refresh_token") or token.token_secret
        expires_in = answer.get("expires_in")
        token.expires_at = timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None
        token.save(update_fields=["token", "token_secret", "expires_at"])
        return token.token, token.expires_at


def forget(user):
    """Revoke (best effort) and delete the user's stored tokens: used at logout."""
    for token in _tokens_of(user):
        if token.token_secret:
            oidc.revoke(token.token_secret, "refresh_token")
        token.delete()
