"""django-csp's middleware, plus the OIDC provider in form-action: logging in and out is a form POST
that the portal answers with a redirect to the provider, and browsers check form-action on that redirect.
Read per request, since the provider's URL is a setting (tests point it at their own devboss)."""
from django.conf import settings

from csp.middleware import CSPMiddleware as BaseCSPMiddleware


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only:
            origin = "/".join(settings.OIDC_SERVER_URL.split("/")[:3])
            parts.update = {**(parts.update or {}), "form-action": [origin]}
        return parts
