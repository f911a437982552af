"""Who is calling: `Authorization: Token <key>`, `Token public`, `Bearer <OIDC access token>`, or nobody.

Anonymous callers and `Token public` read public resources only (boss-api.md section 2).
"""
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.module_loading import import_string

from . import errors
from .models import ApiToken

READ_METHODS = ("GET", "HEAD", "OPTIONS")


@lru_cache(maxsize=1)
def _bearer_authenticator():
    path = settings.DEVBOSS_BEARER_AUTHENTICATOR
    return import_string(path) if path else None


def authenticate(request):
    """Return the calling user (AnonymousUser for none/public), or raise BossError(401)."""
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return AnonymousUser()
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if scheme == "token":
        if not credential:
            raise errors.BossError(errors.NOT_AUTHENTICATED, "Invalid token header. No credentials provided.", 401)
        if credential == "public":
            return AnonymousUser()
        token = ApiToken.objects.select_related("user").filter(key=credential).first()
        if token is None or not token.user.is_active:
            raise errors.BossError(errors.NOT_AUTHENTICATED, "Invalid token.", 401)
        return token.user
    if scheme == "bearer":
        check = _bearer_authenticator()
        user = check(credential) if (check and credential) else None
        if user is None or not user.is_active:
            raise errors.BossError(errors.NOT_AUTHENTICATED, "Invalid or expired bearer token.", 401)
        if getattr(user, "devboss_read_only", False) and request.method not in READ_METHODS:
            raise errors.BossError(errors.MISSING_PERMISSION, "This token (the viewer's) can only read.", 403)
        return user
    raise errors.BossError(errors.NOT_AUTHENTICATED, "Unsupported authorization scheme.", 401)
