"""alice and bob with real devboss tokens (tests/cutouts/conftest.py), a cleared cache, and the browser."""
import pytest
from django.core.cache import cache



@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()
