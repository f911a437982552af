"""devboss's pages of the OIDC provider: the login page, a logout that needs no confirmation from the trusted
portal, and the portal's stylesheet, so these pages look like the portal's own.

The stylesheet is read from the repository's static/portal/portal.css as a file: devboss imports nothing of the
portal's Python code (tests/test_layout.py), and a copy would drift from the portal's look.
"""
from pathlib import Path

from django.contrib.auth.views import LoginView
from django.http import Http404, HttpResponse
from oauth2_provider.exceptions import OIDCError
from oauth2_provider.models import get_application_model
from oauth2_provider.views import RPInitiatedLogoutView

PORTAL_CSS = Path(__file__).resolve().parents[2] / "static" / "portal" / "portal.css"


class DevbossLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def portal_css(request):
    try:
        css = PORTAL_CSS.read_bytes()
    except OSError:
        raise Http404("The portal's stylesheet is not there.") from None
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "max-age=300"
    return response


class DevbossLogoutView(RPInitiatedLogoutView):
    """RP-initiated logout. The portal logs out by sending client_id and a registered post_logout_redirect_uri
    (never a token in a URL); DOT, like Keycloak, would then ask "Confirm Logout?", the third click of a
    logout. A client the provider trusts without asking at login (skip_authorization) is trusted at logout
    too: the session ends at once and the browser goes back. Any other request gets DOT's own flow."""

    def get(self, request, *args, **kwargs):
        client_id = request.GET.get("client_id")
        redirect_uri = request.GET.get("post_logout_redirect_uri")
        trusted = (client_id and redirect_uri and not request.GET.get("id_token_hint")
                   and get_application_model().objects.filter(client_id=client_id, skip_authorization=True).exists())
        if not trusted:
            return super().get(request, *args, **kwargs)
        try:
            application, _ = self.validate_logout_request(
                id_token_hint=None, client_id=client_id, post_logout_redirect_uri=redirect_uri)
        except OIDCError as error:
            return self.error_response(error)
        return self.do_logout(application, redirect_uri, request.GET.get("state"), None)
