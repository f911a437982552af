"""Register the OIDC clients of devboss: the portal (confidential), "endpoint" (public, password grant) and
"neuroglancer" (the local viewer's read-only tokens, devboss.viewer.credentials).

Idempotent: run it again to reset the clients' settings and the portal's secret. Users are the seed's job.
"""
import os

from django.conf import settings
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

CALLBACK = "/accounts/oidc/boss/login/callback/"


def portal_uris():
    """Callback and post-logout URIs for the portal.

    `http://127.0.0.1/...` matches any port (RFC 8252 loopback rule, which DOT applies), and so does
    `http://localhost/...` with OAUTH2_PROVIDER["ALLOW_LOCALHOST_LOOPBACK"]; DEVBOSS_PORTAL_URL adds one more.
    """
    roots = ["http://127.0.0.1", "http://localhost"]
    extra = os.environ.get("DEVBOSS_PORTAL_URL", "").rstrip("/")
    if extra and extra not in roots:
        roots.append(extra)
    return [root + CALLBACK for root in roots], [root + "/" for root in roots]


class Command(BaseCommand):
    help = ("Register devboss's OIDC clients: 'portal' (authorization code), 'endpoint' (password grant) and "
            "'neuroglancer' (the local viewer's read-only tokens).")

    def handle(self, *args, **options):
        Application = get_application_model()
        redirects, post_logout = portal_uris()
        portal, _ = Application.objects.update_or_create(
            client_id="portal",
            defaults=dict(
                name="BOSS portal",
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                client_secret=settings.DEVBOSS_PORTAL_CLIENT_SECRET,  # hashed on save
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=True,
                redirect_uris=" ".join(redirects),
                post_logout_redirect_uris=" ".join(post_logout),
            ),
        )
        Application.objects.update_or_create(
            client_id="endpoint",
            defaults=dict(
                name="BOSS scripts (password grant)",
                client_type=Application.CLIENT_PUBLIC,
                authorization_grant_type=Application.GRANT_PASSWORD,
                client_secret="",
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=True,
                redirect_uris="",
            ),
        )
        from devboss.viewer.client import VIEWER_CLIENT_ID
        from devboss.viewer.credentials import viewer_application_fields

        Application.objects.update_or_create(client_id=VIEWER_CLIENT_ID, defaults=viewer_application_fields())
        self.stdout.write(f"OIDC clients: portal ({', '.join(redirects)}), endpoint (password grant), "
                          f"{VIEWER_CLIENT_ID} (the local viewer's read-only tokens)")
