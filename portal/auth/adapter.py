"""allauth's hooks: users come only from the provider; failures are logged by kind, never with tokens."""
import logging

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

log = logging.getLogger(__name__)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return True  # anyone the provider vouches for gets a portal account on first login

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        # The exception's text can quote the provider's answer; log its class only.
        log.warning("OIDC login failed: %s (%s)", error, type(exception).__name__ if exception else "no exception")
