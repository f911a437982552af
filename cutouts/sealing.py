"""A job's script token, encrypted at rest (Fernet: AES-128-CBC with an HMAC), never logged or shown.

The key is CUTOUT_TOKEN_KEY (a Fernet key, from the environment) or, where that is unset, one derived from
SECRET_KEY for this purpose alone. Rotating the key makes the stored tokens unreadable: their jobs then
use their owners' sessions, or wait for a login, as when a token expires.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from bossdb.session import Credential, jwt_expiry


def _fernet():
    key = settings.CUTOUT_TOKEN_KEY
    if not key:
        digest = hashlib.sha256(b"boss-portal cutout job tokens\0" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def seal(token):
    return _fernet().encrypt(token.encode()).decode()


def unseal(sealed):
    """The Credential a sealed token holds (with its expiry where the token says), or None."""
    if not sealed:
        return None
    try:
        token = _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None
    return Credential("Bearer", token, expires=jwt_expiry(token))
