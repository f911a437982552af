"""`POST /credentials/<token>`: what the served Neuroglancer client asks when BOSS refuses it a chunk.

The wheel's client is the Python-integration build. Its credentials manager does not open Keycloak's popup:
for every `boss://` source that answers 401/403/500/504 it posts
`{"key": "boss", "parameters": "<auth server>", "invalid": <generation or null>}` to `/credentials/<token>`
(the Python server's address) and expects `{"generation": <int>, "credentials": "<access token>"}`; it
then retries with `Authorization: Bearer <credentials>`, and on a further 401/403 posts again with
`invalid` set to the generation that failed (at most three times).

devboss answers as the Python server would, for the browser's own devboss session only:
- the caller must be logged in at devboss (its session cookie: the one the portal's OIDC login made);
- the request must come from a page of this origin (`Sec-Fetch-Site`/`Origin`): no other site can ask;
  the response carries no CORS header, so no other site can read it either;
- `parameters` must be the auth server Neuroglancer derives from *this* host, so a state naming another
  BOSS host gets nothing (and the client's CSP, views.CLIENT_CSP, lets it talk to this origin only);
- each answer is a new access token of the user's own, short-lived (ACCESS_TOKEN_EXPIRE_SECONDS), of the
  read-only client `neuroglancer` (devboss.oidc.bearer), never in a URL or a log, and revoked at logout.
"""
import json
import secrets
from datetime import timedelta

from django.contrib.auth.signals import user_logged_out
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.settings import oauth2_settings

from devboss.viewer.client import VIEWER_CLIENT_ID, auth_server

SESSION_KEY = "devboss_viewer_tokens"
KEEP = 20  # tokens per session kept alive (several tabs); older ones are revoked
MAX_BODY = 4096


def viewer_application():
    """The read-only OIDC client the viewer's tokens belong to (seed_oidc registers it too)."""
    Application = get_application_model()
    app, _ = Application.objects.get_or_create(client_id=VIEWER_CLIENT_ID, defaults=viewer_application_fields())
    return app


def viewer_application_fields():
    Application = get_application_model()
    return dict(
        name="Neuroglancer, served by devboss (read-only tokens for the logged-in browser)",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_IMPLICIT,
        client_secret="",
        skip_authorization=True,
        redirect_uris="",
    )


def _refuse(status, message):
    return JsonResponse({"error": message}, status=status)


def _same_origin(request):
    """True only for a request a page of this very origin made (a browser says so in these headers)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is None and origin is None:
        return False
    if site is not None and site != "same-origin":
        return False
    return origin is None or origin == f"{request.scheme}://{request.get_host()}"


def _mint(request):
    AccessToken = get_access_token_model()
    raw = secrets.token_urlsafe(32)
    access = AccessToken(
        user=request.user, application=viewer_application(), scope="read",
        expires=timezone.now() + timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS),
    )
    try:
        from oauth2_provider.models import set_token_value  # DOT >= 3.2: honours redacted token storage
        set_token_value(access, raw)
    except ImportError:  # pragma: no cover - older DOT stores the token as given
        access.token = raw
    access.save()
    kept = [pk for pk in request.session.get(SESSION_KEY, []) if isinstance(pk, int)] + [access.pk]
    if len(kept) > KEEP:
        AccessToken.objects.filter(pk__in=kept[:-KEEP], user=request.user).delete()
        kept = kept[-KEEP:]
    request.session[SESSION_KEY] = kept
    return access.pk, raw


@csrf_exempt  # no form posts here: _same_origin is the check, and nothing another origin sends gets a token
@never_cache
def credentials(request, token):
    if request.method != "POST":
        return _refuse(405, "POST only.")
    if not _same_origin(request):
        return _refuse(403, "Credentials are given to this origin's own viewer pages only.")
    try:
        too_large = int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY
    except ValueError:
        too_large = True
    if too_large:  # read nothing big: devboss accepts 550 MB bodies elsewhere
        return _refuse(400, "Request too large.")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _refuse(400, "The body is not JSON.")
    if not isinstance(body, dict) or body.get("key") != "boss":
        return _refuse(404, "devboss gives credentials for boss:// sources only.")
    expected = auth_server(f"{request.scheme}://{request.get_host()}")  # None over plain HTTP: never a token
    if expected is None or body.get("parameters") != expected:
        return _refuse(403, "Credentials are given for this BOSS host's data only.")
    if not request.user.is_authenticated or not request.user.is_active:
        return _refuse(401, "Log in to see private data: the viewer uses your devboss login.")
    generation, raw = _mint(request)
    response = JsonResponse({"generation": generation, "credentials": raw})
    response["X-Content-Type-Options"] = "nosniff"
    return response


def revoke_on_logout(sender, request=None, user=None, **kwargs):
    """A devboss logout (the portal's one-step logout included) ends the viewer's tokens of that session."""
    if request is None or not hasattr(request, "session"):
        return
    pks = request.session.get(SESSION_KEY) or []
    if pks:
        get_access_token_model().objects.filter(pk__in=[pk for pk in pks if isinstance(pk, int)]).delete()


def connect_signals():
    user_logged_out.connect(revoke_on_logout, dispatch_uid="devboss-viewer-revoke-on-logout")
