"""The cutout fixtures (alice and bob with devboss logins, the real Celery worker) shared with tests/cutouts."""
from tests.cutouts.conftest import alice, bob, boss_settings, celery_worker  # noqa: F401
