"""Configuration the portal can't run with, reported as system checks (`manage.py check`, `migrate`,
`runserver`) rather than raised while the settings load. Registered in portal/apps.py."""
from django.conf import settings
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured


def check_secret_key(app_configs=None, **kwargs):
    """Outside PORTAL_DEV there is no default key (portal/settings.py): one must be given."""
    try:
        settings.SECRET_KEY  # Django raises on an empty one
    except ImproperlyConfigured:
        return [Error(
            "SECRET_KEY is required (set PORTAL_DEV=1 for local development).",
            hint="Set SECRET_KEY, or SECRET_KEY_FILE to the path of a file that holds it.",
            id="portal.E001",
        )]
    return []
