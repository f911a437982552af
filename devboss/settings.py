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
    "devboss.viewer",
    "oauth2_provider",
    "devboss.oidc",
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

# The blosc level of cutout answers (python-blosc's default, 9, as the real BOSS sends them). devboss's voxels
# are smooth and pack to a few % of their bytes; real EM hardly packs at all. 0 sends every answer as large as
# its voxels (blosc stores them as they are), so benchmarks can measure a client's memory with answers of
# real-data size (bench.cutout_bench --boss-clevel 0).
DEVBOSS_BLOSC_CLEVEL = env_int("DEVBOSS_BLOSC_CLEVEL", 9)

# Cutout POST bodies: nginx in front of BOSS allows 550 MB (client_max_body_size).
DATA_UPLOAD_MAX_MEMORY_SIZE = 550 * 1024 * 1024

# Behaviours of the real BOSS that devboss reproduces by default (devboss.api.realboss) and the byte quotas
# (devboss.api.throttle) read the environment at run time: DEVBOSS_FORGIVE="1,6" (or "all") switches
# behaviours off, DEVBOSS_THROTTLE_BYTES (64 GiB per user and day, -1 = unlimited) and friends set quotas;
# staff change both at run time: POST /devboss/forgive, POST /devboss/throttle.

# Fault injection for reliability tests: a share of cutout requests answered 500, delayed, or cut short.
# Also switchable at run time through POST /devboss/faults (staff token only).
DEVBOSS_FAULTS = {
    "error_rate": float(os.environ.get("DEVBOSS_FAULT_ERROR_RATE", "0")),
    "delay_rate": float(os.environ.get("DEVBOSS_FAULT_DELAY_RATE", "0")),
    "delay_seconds": float(os.environ.get("DEVBOSS_FAULT_DELAY_SECONDS", "0")),
    "truncate_rate": float(os.environ.get("DEVBOSS_FAULT_TRUNCATE_RATE", "0")),
}

# A Bearer token (OIDC access token) is checked by this callable: token -> User or None.
DEVBOSS_BEARER_AUTHENTICATOR = os.environ.get(
    "DEVBOSS_BEARER_AUTHENTICATOR", "devboss.oidc.bearer.authenticate_bearer"
)

# --- OIDC provider (django-oauth-toolkit), shaped like BOSS's Keycloak: issuer <host>/auth/realms/BOSS -------
from devboss.oidc.keys import load_private_key  # noqa: E402

LOGIN_URL = "/auth/realms/BOSS/login/"
LOGIN_REDIRECT_URL = "/auth/realms/BOSS/login/"
# The portal's client secret (seed_oidc registers it; DOT stores only a hash) and, optionally, its address.
DEVBOSS_PORTAL_CLIENT_SECRET = os.environ.get("DEVBOSS_PORTAL_CLIENT_SECRET", "portal-dev-secret")
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": load_private_key(VAR_DIR),
    "OAUTH2_VALIDATOR_CLASS": "devboss.oidc.validators.BossOAuth2Validator",
    "PKCE_REQUIRED": True,
    # offline_access: Keycloak's scope for refresh tokens that outlive the SSO session (the portal asks for it)
    "SCOPES": {"openid": "OpenID Connect", "profile": "Profile", "email": "E-mail", "read": "Read", "write": "Write",
               "offline_access": "Offline access"},
    "DEFAULT_SCOPES": ["openid", "profile", "email"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("DEVBOSS_ACCESS_TOKEN_SECONDS", 300),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("DEVBOSS_ID_TOKEN_SECONDS", 300),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("DEVBOSS_REFRESH_TOKEN_SECONDS", 30 * 60),
    # The portal's callback on 127.0.0.1 or localhost, any port (RFC 8252): tests run it on random ports.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DEVBOSS_LOG_LEVEL", "WARNING")},
}

# The tests' devbosses (devboss.testing) hash passwords fast: every test user's password grant would
# otherwise cost a quarter of a second. Never set in `make run`.
if os.environ.get("DEVBOSS_PASSWORD_HASHERS"):
    PASSWORD_HASHERS = os.environ["DEVBOSS_PASSWORD_HASHERS"].split(",")
