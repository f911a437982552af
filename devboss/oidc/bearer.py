"""`Authorization: Bearer <access token>` on the devboss API (settings.DEVBOSS_BEARER_AUTHENTICATOR)."""
import hashlib

from oauth2_provider.models import get_access_token_model


def authenticate_bearer(token):
    """The user an unexpired, unrevoked DOT access token belongs to, else None (the API answers 401).

    DOT deletes revoked access tokens, so "not found" covers revocation.
    """
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    access = get_access_token_model().objects.select_related("user").filter(token_checksum=checksum).first()
    if access is None or access.user is None or access.is_expired():
        return None
    return access.user
