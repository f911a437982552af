"""The portal in pytest-django's live server reading the session devboss, a chunk cache of the test's own,
alice and bob logged in (tests/jobs.py), and helpers to open Zarr URLs with zarr-python over fsspec/HTTP."""
import pytest
import requests
from django.core.cache import cache


@pytest.fixture
def site(live_server, boss_settings, tmp_path):
    boss_settings.BOSS_PUBLIC_URL = boss_settings.BOSS_URL
    boss_settings.ZARR_CACHE_DIR = tmp_path / "zarr-cache"
    cache.clear()
    yield live_server.url
    cache.clear()


def public_url(site, c, e, ch):
    return f"{site}/zarr/public/{c}/{e}/{ch}.ome.zarr/"


def open_group(url):
    import zarr

    return zarr.open_group(url, mode="r")  # fsspec's HTTP store (aiohttp), as the snippets say


def admin_headers(devboss):
    return {"Authorization": f"Token {devboss.token('admin')}"}


def devboss_stats(devboss, reset=False):
    if reset:
        requests.delete(f"{devboss.url}/devboss/stats", headers=admin_headers(devboss), timeout=10)
    return requests.get(f"{devboss.url}/devboss/stats", timeout=10).json()["cutouts"]


def make_link(user, name="test", scope="", days=30):
    from datetime import timedelta

    from django.utils import timezone

    from zarrview.models import ZarrLink

    expires = timezone.now() + timedelta(days=days) if days else None
    return ZarrLink.create(user, name, expires, scope)


@pytest.fixture(scope="session")
def https_viewer(devboss, tmp_path_factory):
    """devboss over HTTPS, for its Neuroglancer client (tests/browse/conftest.py's, started for this module)."""
    from tests.browse.conftest import https_devboss

    yield from https_devboss.__wrapped__(devboss, tmp_path_factory)
