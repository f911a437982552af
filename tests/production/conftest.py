"""The cutout fixtures (alice, bob, boss_settings, celery_worker) come from tests/conftest.py."""
