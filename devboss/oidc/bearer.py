"""`Authorization: Bearer <access token>` on the devboss API (settings.DEVBOSS_BEARER_AUTHENTICATOR)."""
import hashlib

from oauth2_provider.models import get_access_token_model

from devboss.viewer.client import VIEWER_CLIENT_ID


def authenticate_bearer(token):
    """The user an unexpired, unrevoked DOT access token belongs to, else None (the API answers 401).

    DOT deletes revoked access tokens, so "not found" covers revocation. A token of the viewer's client comes
    back as a user marked `devboss_read_only` (devboss.api.auth refuses it anything but reading).
    """
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    access = (get_access_token_model().objects.select_related("user", "application")
              .filter(token_checksum=checksum).first())
    if access is None or access.user is None or access.is_expired():
        return None
    user = access.user
    user.devboss_read_only = access.application is not None and access.application.client_id == VIEWER_CLIENT_ID
    return user
