"""Settings for the test suite: the portal's own settings, in development mode, with a var folder of
the run's own (never the developer's var/), before anything reads them."""
import os
import tempfile

os.environ.setdefault("PORTAL_DEV", "1")
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-test-var-"))

from portal.settings import *  # noqa: E402,F401,F403

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing  # noqa: F405
# No persistent connections in tests: the live server's threads would otherwise keep PostgreSQL sessions
# open and the test database could not be dropped at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
