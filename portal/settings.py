"""Portal settings. Every value reads the environment; README.md lists each variable with its default.

PORTAL_DEV=1 is what `make run` and the tests set: it allows the built-in development SECRET_KEY and
points BOSS and the OIDC provider at devboss. Without it, SECRET_KEY must be given.

A bad value that still lets the settings load is reported by the system checks (portal/checks.py,
cutouts/checks.py: `manage.py check`, `migrate`, `runserver`), not raised here; only an unreadable
DATABASE_URL raises, since nothing works without the database.
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import env, envbool, envint, envlist, envsecret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("PORTAL_VAR_DIR", str(BASE_DIR / "var" / "portal")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

PORTAL_DEV = envbool("PORTAL_DEV")
DEBUG = envbool("DEBUG")
# Without PORTAL_DEV a missing key stays empty, never a known one: the check portal.E001 reports it, and
# Django refuses anything that signs (sessions, CSRF) with an empty key.
SECRET_KEY = envsecret("SECRET_KEY", "portal-development-key-not-for-production" if PORTAL_DEV else "")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if not PORTAL_DEV else "*")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "portal",
    "cutouts",
    "zarrview",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's scripts and styles, served locally (no CDN: see the CSP)
    "mozilla_django_oidc",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.csp.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.LoginRequiredMiddleware",
    "cutouts.notify.JobNoticeMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ]
        },
    }
]


def _database(url):
    """DATABASE_URL, read by dj-database-url: sqlite:///path or postgres://user:password@host:port/name (a
    query string becomes OPTIONS, e.g. ?sslmode=require). Without it, a SQLite file under VAR_DIR."""
    default_file = str(VAR_DIR / "portal.sqlite3")
    if not url:
        # The test database is a file too, so that a Celery worker process can share it with the tests.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_file, "OPTIONS": {"timeout": 30},
                "TEST": {"NAME": str(VAR_DIR / "test-portal.sqlite3")}}
    scheme = url.partition(":")[0]
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported (sqlite, postgres).")
    try:
        config = dj_database_url.parse(url)
    except ValueError:  # say nothing of the URL itself: it holds the password
        message = "DATABASE_URL is not a valid URL (quote special characters in the password)."
        raise ImproperlyConfigured(message) from None
    if scheme != "sqlite":
        return {**config, "PORT": str(config["PORT"]), "CONN_MAX_AGE": 60}
    if config["NAME"] == ":memory:" and ":memory:" not in url:
        config["NAME"] = default_file  # "sqlite:///" alone: the default file, not an in-memory database
    config["OPTIONS"] = {"timeout": 30, **config.get("OPTIONS", {})}
    return config


DATABASES = {"default": _database(env("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Two servers on 127.0.0.1 share cookies whatever the port: keep the portal's apart from devboss's.
SESSION_COOKIE_NAME = "portal_sessionid"
CSRF_COOKIE_NAME = "portal_csrftoken"

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# --- BOSS -------------------------------------------------------------------------------------------
# BOSS_URL: the API root the portal calls (devboss over HTTP in dev).
# BOSS_PUBLIC_URL: the root used in viewer links (https; devboss's HTTPS port in dev).
BOSS_URL = env("BOSS_URL", "http://127.0.0.1:8001").rstrip("/")
BOSS_PUBLIC_URL = env("BOSS_PUBLIC_URL", BOSS_URL).rstrip("/")
BOSS_PUBLIC_TOKEN = env("BOSS_PUBLIC_TOKEN", "public" if PORTAL_DEV else "")
BOSS_CONNECT_TIMEOUT = float(env("BOSS_CONNECT_TIMEOUT", "5"))
BOSS_READ_TIMEOUT = float(env("BOSS_READ_TIMEOUT", "60"))  # jobs and the command line
# Pages read BOSS metadata with a shorter read timeout, so that a hung BOSS gives a 504 page quickly.
BOSS_PAGE_TIMEOUT = float(env("BOSS_PAGE_TIMEOUT", "10"))
BOSS_CACHE_SECONDS = envint("BOSS_CACHE_SECONDS", 60)

NDVIZ_URL = env("NDVIZ_URL", "https://viz.boss.neurodata.io/")
# Whether that viewer draws private channels for the logged-in user: devboss's local client asks devboss for the
# user's own token (/credentials/devboss); another client asks for credentials the portal can't give, so pages
# warn beside viewer links to private data. Default: on for devboss's client (a NDVIZ_URL ending in /v/devboss/).
NDVIZ_PRIVATE_DATA = envbool("NDVIZ_PRIVATE_DATA", "1" if NDVIZ_URL.rstrip("/").endswith("/v/devboss") else "0")

# --- Redis, Celery, cache ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)}

CACHE_URL = env("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# --- Authentication (OpenID Connect) -------------------------------------------------------------------
# See portal/auth*.py. OIDC_SERVER_URL is the issuer: Keycloak's realm URL in production,
# devboss's `<BOSS_URL>/auth/realms/BOSS` in dev.
OIDC_SERVER_URL = env("OIDC_SERVER_URL", f"{BOSS_URL}/auth/realms/BOSS").rstrip("/")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", "portal")
OIDC_CLIENT_SECRET = envsecret("OIDC_CLIENT_SECRET", "portal-dev-secret" if PORTAL_DEV else "")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# The provider's endpoints are Keycloak's paths under OIDC_SERVER_URL (portal/auth/oidc.py); override one
# with OIDC_OP_<NAME>_ENDPOINT (AUTHORIZATION, TOKEN, USER, JWKS, LOGOUT, REVOKE) if yours differ.
OIDC_PROVIDER_ID = "boss"  # allauth's provider id: the callback is /accounts/oidc/boss/login/callback/
# Refresh the BOSS access token when it expires within this many seconds.
OIDC_REFRESH_MARGIN_SECONDS = envint("OIDC_REFRESH_MARGIN_SECONDS", 30)
OIDC_TIMEOUT = float(env("OIDC_TIMEOUT", "10"))
OIDC_SCOPES = env("OIDC_SCOPES", "openid profile email offline_access").split()

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# django-allauth: login through the provider only, tokens kept server-side (SocialToken) for BOSS calls.
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": "BOSS",
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_SERVER_URL,
                    "oauth_pkce_enabled": True,  # allauth sends no PKCE without it; DOT and Keycloak want it
                    "token_auth_method": "client_secret_post",
                    # offline_access: a refresh token that outlives the SSO session, so that cutout jobs renew
                    # their owner's token after the browser session ended (README: "Keycloak"). Drop it with
                    # OIDC_SCOPES="openid profile email" where the provider refuses it.
                    "scope": OIDC_SCOPES,
                },
            }
        ]
    }
}
SOCIALACCOUNT_ONLY = True
SOCIALACCOUNT_STORE_TOKENS = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # match users by the provider's `sub`, never by e-mail
SOCIALACCOUNT_ADAPTER = "portal.auth.adapter.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False  # the login page POSTs (CSRF-protected) to start the flow
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False

# The JSON API: a bearer token from the provider (checked at its userinfo endpoint), or the session.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.auth.api.OIDCBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three defaults, with a JSON parser that answers 400 (not 500) to JSON nested too deeply.
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# mozilla-django-oidc, for the bearer check only (endpoints come from OIDC_SERVER_URL, see portal/auth/api.py).
OIDC_DRF_AUTH_BACKEND = "portal.auth.api.SocialAccountOIDCBackend"
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_CREATE_USER = False
OIDC_USERINFO_CACHE_SECONDS = envint("OIDC_USERINFO_CACHE_SECONDS", 60)

# --- Cutouts --------------------------------------------------------------------------------------------
CUTOUT_MAX_BYTES = envint("CUTOUT_MAX_BYTES", 10**9)  # the web download cap (uncompressed bytes)
CUTOUT_MAX_PARTS_BYTES = envint("CUTOUT_MAX_PARTS_BYTES", 10 * 10**9)  # a box delivered in parts, in all
CUTOUT_RETENTION_DAYS = envint("CUTOUT_RETENTION_DAYS", 7)
# E-mail when a job ends only where e-mail is configured explicitly: EMAIL_HOST in the environment, or
# CUTOUT_NOTIFY_EMAIL=1 (Django's own EMAIL_HOST default, "localhost", is no such sign). Links in it start with
# SITE_URL (the portal's address as users reach it; `make run` sets it).
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "BOSS portal <noreply@localhost>")
CUTOUT_NOTIFY_EMAIL = envbool("CUTOUT_NOTIFY_EMAIL", "1" if env("EMAIL_HOST") else "0")
SITE_URL = env("SITE_URL").rstrip("/")
CUTOUT_RESULTS_DIR = Path(env("CUTOUT_RESULTS_DIR", str(VAR_DIR / "results")))
CUTOUT_FETCH_CONCURRENCY = envint("CUTOUT_FETCH_CONCURRENCY", 3)  # parallel block requests per job (bench: 3 is best here)
CUTOUT_BLOCK_BYTES = envint("CUTOUT_BLOCK_BYTES", 16 * 1024 * 1024)
CUTOUT_BLOCK_RETRIES = envint("CUTOUT_BLOCK_RETRIES", 4)
CUTOUT_RETRY_BACKOFF = float(env("CUTOUT_RETRY_BACKOFF", "0.5"))  # seconds, doubled per retry
# Crash-proof jobs (cutouts/heartbeat.py, cutouts/upkeep.py): a running job writes its heartbeat every few
# seconds; one silent for CUTOUT_STALE_SECONDS lost its worker and is taken over, resuming from the blocks
# it recorded (every CUTOUT_PROGRESS_SECONDS) as finished. The reconciler runs every CUTOUT_RECONCILE_SECONDS.
CUTOUT_HEARTBEAT_SECONDS = float(env("CUTOUT_HEARTBEAT_SECONDS", "5"))
CUTOUT_STALE_SECONDS = envint("CUTOUT_STALE_SECONDS", 30)
CUTOUT_PROGRESS_SECONDS = float(env("CUTOUT_PROGRESS_SECONDS", "5"))
CUTOUT_RECONCILE_SECONDS = float(env("CUTOUT_RECONCILE_SECONDS", "10"))
CUTOUT_MAX_ATTEMPTS = envint("CUTOUT_MAX_ATTEMPTS", 5)  # runs that ended with their worker lost, then it fails
# A job left without a valid token waits this long for its owner to log in, then fails (cutouts/logins.py).
CUTOUT_LOGIN_GRACE_SECONDS = envint("CUTOUT_LOGIN_GRACE_SECONDS", 24 * 3600)
# The key that encrypts the tokens scripts submit jobs with (a Fernet key); derived from SECRET_KEY if unset.
CUTOUT_TOKEN_KEY = envsecret("CUTOUT_TOKEN_KEY")
# The periodic upkeep goes to a queue of its own ("upkeep"), served by the beat process's own worker
# (`celery worker -B -Q upkeep -P solo`, as in `make run` and docker-compose): long jobs filling every job
# slot never delay it. A message older than its period is dropped, so none pile up while beat runs alone.
def _periodic(task, seconds):
    return {"task": task, "schedule": seconds, "options": {"queue": "upkeep", "expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "expire-cutout-results": _periodic("cutouts.expire_results", 3600.0),
    "reconcile-cutouts": _periodic("cutouts.reconcile", CUTOUT_RECONCILE_SECONDS),
    "fail-jobs-left-waiting-for-a-login": _periodic("cutouts.fail_unclaimed_jobs", 600.0),
}

# --- Per-user limits and BOSS egress (cutouts/limits.py, cutouts/semaphore.py) ---------------------------
CUTOUT_MAX_RUNNING_PER_USER = envint("CUTOUT_MAX_RUNNING_PER_USER", 2)  # more wait in the queue
CUTOUT_MAX_QUEUED_PER_USER = envint("CUTOUT_MAX_QUEUED_PER_USER", 10)  # more are refused at submission
CUTOUT_MAX_RESULT_BYTES_PER_USER = envint("CUTOUT_MAX_RESULT_BYTES_PER_USER", 10 * 10**9)  # unexpired results
CUTOUT_REQUEUE_SECONDS = envint("CUTOUT_REQUEUE_SECONDS", 30)  # a job over the running limit waits this long
# Block requests in flight to BOSS from all workers together (a Redis semaphore on CELERY_BROKER_URL).
BOSS_MAX_CONCURRENT_REQUESTS = envint("BOSS_MAX_CONCURRENT_REQUESTS", 16)
BOSS_REQUEST_LEASE_SECONDS = envint("BOSS_REQUEST_LEASE_SECONDS", 15)  # renewed while held; a dead worker's frees after this
BOSS_SLOT_WAIT_SECONDS = envint("BOSS_SLOT_WAIT_SECONDS", 30)  # Redis down: a request waits this long for a slot

# --- Where results live (cutouts/storage.py) ------------------------------------------------------------
# "local": files under CUTOUT_RESULTS_DIR (one volume shared by every worker and the web server);
# "s3": an S3-compatible bucket, downloaded by signed URLs that expire after CUTOUT_S3_URL_SECONDS.
CUTOUT_STORAGE = env("CUTOUT_STORAGE", "local")  # checked by cutouts/checks.py
# Jobs write here first (a TIFF is written block by block in place), then move the file to the storage:
# keep it on the same file system as CUTOUT_RESULTS_DIR so that the move is a rename.
CUTOUT_SCRATCH_DIR = Path(env("CUTOUT_SCRATCH_DIR", "")) if env("CUTOUT_SCRATCH_DIR") else None
CUTOUT_S3 = {  # the options of django-storages' S3Storage
    "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
    "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,  # MinIO, Ceph...; empty for AWS itself
    "region_name": env("AWS_S3_REGION_NAME") or None,
    "access_key": env("AWS_ACCESS_KEY_ID"),
    "secret_key": envsecret("AWS_SECRET_ACCESS_KEY"),
    "location": env("AWS_LOCATION", "cutouts"),  # a prefix inside the bucket
    "querystring_auth": True,
    "querystring_expire": envint("CUTOUT_S3_URL_SECONDS", 3600),
    "signature_version": "s3v4",  # what MinIO, Ceph and every AWS region accept
    "default_acl": None,
    "file_overwrite": True,
}
# STORAGES["results"] (below). Django imports the backend on first use, so "local" needs no boto3.
_results_storages = {
    "local": {"BACKEND": "cutouts.storage.ResultsFileSystemStorage"},  # a FileSystemStorage at CUTOUT_RESULTS_DIR
    "s3": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": CUTOUT_S3},
}

# --- Production (PORTAL_DEV off): HTTPS only, hashed static files, a strict Content Security Policy -------
# The portal sits behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER names the header that proxy sets
# (e.g. X-Forwarded-Proto); only set it if the proxy always sets or strips that header.
_proxy_header = env("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_header.upper().replace('-', '_')}", "https") if _proxy_header else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "0" if PORTAL_DEV else "1")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers and container health checks speak plain HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", "0" if PORTAL_DEV else "1")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if PORTAL_DEV else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "1")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cached forever by browsers) need `collectstatic`, which the Dockerfile runs.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if PORTAL_DEV
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
# Finished cutouts (cutouts/storage.py). An unknown CUTOUT_STORAGE leaves "results" out, so that a Celery
# worker (which runs no system checks) fails its jobs rather than keep results somewhere unexpected.
if CUTOUT_STORAGE in _results_storages:
    STORAGES["results"] = _results_storages[CUTOUT_STORAGE]
# Pages run only the portal's own static scripts: no inline script or style, no other origin, except
# that logging in and out sends the browser (by a form POST, then a redirect) to the OIDC provider
# (portal/csp.py adds its origin to form-action).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- API schema (drf-spectacular) -----------------------------------------------------------------------
# The OpenAPI 3 schema at /api/schema/ and its Swagger UI at /api/docs/, both public; the UI's scripts and
# styles are local static files (drf-spectacular-sidecar), as the Content Security Policy requires.
SPECTACULAR_SETTINGS = {
    "TITLE": "BOSS portal API",
    "DESCRIPTION": "Browse BOSS collections and experiments, and cut out boxes of image data as files. "
                   "Send `Authorization: Bearer <access token>` (a token from the BOSS identity provider).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,  # the schema's own endpoint is not part of the API
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: it is an image from another site, which the CSP refuses.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- The OME-Zarr view (zarrview/): every channel as a read-only OME-Zarr over HTTP ----------------------
# Chunks are cached in a bounded folder shared by the web processes (zarrview/cache.py); 0 bytes: no cache.
ZARR_CACHE_DIR = Path(env("ZARR_CACHE_DIR", str(VAR_DIR / "zarr-cache")))
ZARR_CACHE_BYTES = envint("ZARR_CACHE_BYTES", 2 * 1024**3)
ZARR_CACHE_SECONDS = envint("ZARR_CACHE_SECONDS", 3600)  # a cached chunk is read from BOSS again after this
ZARR_HTTP_MAX_AGE = envint("ZARR_HTTP_MAX_AGE", 3600)  # Cache-Control max-age of public chunks
ZARR_BOSS_RETRIES = envint("ZARR_BOSS_RETRIES", 2)  # more tries of a chunk after a BOSS 5xx or timeout
ZARR_REQUEST_SLOTS = envbool("ZARR_REQUEST_SLOTS", "1")  # chunk reads share BOSS_MAX_CONCURRENT_REQUESTS
ZARR_LINK_DAYS = envint("ZARR_LINK_DAYS", 30)  # a new link's lifetime unless its owner says otherwise
ZARR_MAX_LINKS_PER_USER = envint("ZARR_MAX_LINKS_PER_USER", 50)
ZARR_NEUROGLANCER_URL = env("ZARR_NEUROGLANCER_URL", "https://neuroglancer-demo.appspot.com/")
