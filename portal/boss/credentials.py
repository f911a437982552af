"""The BOSS credential of a caller: their OIDC access token (refreshed when due), or the public token.

Three kinds of caller:
- anonymous: `Token <BOSS_PUBLIC_TOKEN>` (public data only), or LoginRequired if there is none;
- a browser session (logged in through allauth): `Bearer <access token>` from their SocialToken row,
  refreshed when it expires within OIDC_REFRESH_MARGIN_SECONDS (portal/auth/tokens.py);
- a JSON API client sending `Authorization: Bearer <token>`: portal.auth.api.OIDCBearerAuthentication
  sets `user.boss_credential` (and `request.boss_credential`) to that very token, and credential_for()
  returns it as is, so a DRF view calls BOSS with the caller's own token.
  (We can't refresh a token a script sent us; when it expires the script gets 401 and fetches another.)
"""
from django.conf import settings

from bossdb import Credential
from bossdb.errors import BossUnavailable, LoginRequired
from portal.auth import oidc, tokens


def public_credential():
    if not settings.BOSS_PUBLIC_TOKEN:
        raise LoginRequired("Log in to browse BOSS.")
    return Credential("Token", settings.BOSS_PUBLIC_TOKEN)


def credential_for(user):
    """The credential to call BOSS with, as `user` (None or AnonymousUser for a visitor)."""
    if user is None or not user.is_authenticated:
        return public_credential()
    sent = getattr(user, "boss_credential", None)
    if sent is not None:
        return sent
    try:
        token, expires_at = tokens.current_token(user)
        return Credential("Bearer", token, expires=expires_at.timestamp() if expires_at else None)
    except tokens.NoToken:
        raise LoginRequired("Please log in again to reach BOSS.") from None
    except oidc.RefreshFailed:
        raise LoginRequired("Your BOSS session has ended; please log in again.") from None
    except oidc.ProviderUnavailable as exc:
        raise BossUnavailable(str(exc)) from None
