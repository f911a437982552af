"""The BOSS credential of a user: their OIDC access token (refreshed when due), or the public token.

Stub until login lands: anonymous callers get BOSS_PUBLIC_TOKEN, others LoginRequired.
"""
from dataclasses import dataclass

from django.conf import settings

from portal.boss.errors import LoginRequired


@dataclass(frozen=True)
class Credential:
    scheme: str  # "Bearer" (OIDC access token) or "Token" (BOSS API token, or "public")
    value: str

    def __repr__(self):  # never print the secret
        return f"Credential({self.scheme}, ***)"


def public_credential():
    if not settings.BOSS_PUBLIC_TOKEN:
        raise LoginRequired("Log in to browse BOSS.")
    return Credential("Token", settings.BOSS_PUBLIC_TOKEN)


def credential_for(user):
    if user is None or not user.is_authenticated:
        return public_credential()
    raise LoginRequired("Your BOSS session has ended; please log in again.")
