"""alice and bob with real devboss tokens (tests/cutouts/conftest.py), a cleared cache, and the browser."""
import pytest
from django.core.cache import cache

from tests.browser import browser, page  # noqa: F401
from tests.cutouts.conftest import alice, bob, boss_settings  # noqa: F401


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()
