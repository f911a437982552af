"""The job fixtures (alice, bob, boss_settings, celery_worker) live in tests/jobs.py and are registered
once by tests/conftest.py; the helpers are re-exported here for modules that import them from here."""
from tests.jobs import login_token, password_grant, start_worker, worker_env  # noqa: F401
