"""Settings for devboss: a BOSS-compatible API server and OIDC provider for local runs and tests.

Never used in production. It runs as its own process, at the host root, like BOSS does.
Every setting reads the environment (DEVBOSS_*), with defaults that work on a fresh machine.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DEVBOSS_VAR_DIR", BASE_DIR / "var" / "devboss"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_int(name, default):
    return int(os.environ.get(name, default))


SECRET_KEY = os.environ.get("DEVBOSS_SECRET_KEY", "devboss-is-for-development-only")
DEBUG = os.environ.get("DEVBOSS_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "devboss.api",
]

MIDDLEWARE = [
    "devboss.api.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

# BOSS accepts paths with and without a trailing slash and never redirects.
APPEND_SLASH = False

ROOT_URLCONF = "devboss.urls"
WSGI_APPLICATION = "devboss.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEVBOSS_DB", str(VAR_DIR / "devboss.sqlite3")),
        "OPTIONS": {"timeout": 30},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Two servers on 127.0.0.1 share cookies whatever the port: keep devboss's apart from the portal's.
SESSION_COOKIE_NAME = "devboss_sessionid"
CSRF_COOKIE_NAME = "devboss_csrftoken"

STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"

# Where volumes loaded with `python -m devboss load_volume` are kept.
DEVBOSS_VOLUME_DIR = Path(os.environ.get("DEVBOSS_VOLUME_DIR", VAR_DIR / "volumes"))

# BOSS's cap on one cutout request, uncompressed (section 5.5 of boss-api.md).
DEVBOSS_CUTOUT_MAX_BYTES = env_int("DEVBOSS_CUTOUT_MAX_BYTES", 520 * 1048576)

# Fault injection for reliability tests: a share of cutout requests answered 500, delayed, or cut short.
# Also switchable at run time through POST /devboss/faults (staff token only).
DEVBOSS_FAULTS = {
    "error_rate": float(os.environ.get("DEVBOSS_FAULT_ERROR_RATE", "0")),
    "delay_rate": float(os.environ.get("DEVBOSS_FAULT_DELAY_RATE", "0")),
    "delay_seconds": float(os.environ.get("DEVBOSS_FAULT_DELAY_SECONDS", "0")),
    "truncate_rate": float(os.environ.get("DEVBOSS_FAULT_TRUNCATE_RATE", "0")),
}

# A Bearer token (OIDC access token) is checked by this callable: token -> User or None.
DEVBOSS_BEARER_AUTHENTICATOR = os.environ.get("DEVBOSS_BEARER_AUTHENTICATOR", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DEVBOSS_LOG_LEVEL", "WARNING")},
}
