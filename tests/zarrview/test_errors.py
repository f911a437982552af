"""BOSS's failures at a chunk become the right HTTP status, never a 500 and never zeros; levels BOSS can't
serve are not in the store at all."""
import numpy as np
import pytest
import requests

from tests.zarrview.conftest import admin_headers, open_group, public_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def faults(devboss):
    def set_faults(**values):
        requests.post(f"{devboss.url}/devboss/faults", json=values, headers=admin_headers(devboss), timeout=10)

    yield set_faults
    requests.delete(f"{devboss.url}/devboss/faults", headers=admin_headers(devboss), timeout=10)


@pytest.fixture
def quota(devboss):
    def limit(size):
        requests.post(f"{devboss.url}/devboss/throttle", headers=admin_headers(devboss), timeout=10, json={
            "thresholds": [{"metric": "user:public-access", "mtype": "egress", "limit": size}], "reset_usage": True})

    yield limit
    requests.delete(f"{devboss.url}/devboss/throttle", headers=admin_headers(devboss), timeout=10)


def test_a_throttled_public_token_answers_429_with_retry_after(site, quota):
    chunk = public_url(site, "demo", "cortex", "em") + "0/1/1/1"
    quota("1K")  # checked before a read's bytes are added: the first read passes and uses it up
    assert requests.get(public_url(site, "demo", "cortex", "em") + "0/1/1/0", timeout=60).status_code == 200
    answer = requests.get(chunk, timeout=60)
    assert answer.status_code == 429 and 0 < int(answer.headers["Retry-After"]) <= 86400
    assert "User is throttled" in answer.json()["error"]
    with pytest.raises(Exception):  # zarr-python raises instead of filling in zeros
        open_group(public_url(site, "demo", "cortex", "em"))["0"][16:32, 512:1024, 512:1024]


def test_a_failing_or_hung_boss_is_502_or_504(site, faults, settings):
    settings.ZARR_BOSS_RETRIES = 0
    faults(error_rate=1.0)
    failing = requests.get(public_url(site, "demo", "cortex", "fluo") + "0/2/0/0", timeout=60)
    assert failing.status_code == 502 and failing.json()["status"] == 502
    faults(error_rate=0.0, truncate_rate=1.0)
    assert requests.get(public_url(site, "demo", "cortex", "fluo") + "0/2/0/1", timeout=60).status_code == 502
    settings.BOSS_READ_TIMEOUT = 0.3
    faults(truncate_rate=0.0, delay_rate=1.0, delay_seconds=2)
    assert requests.get(public_url(site, "demo", "cortex", "fluo") + "0/2/1/0", timeout=60).status_code == 504
    faults(delay_rate=0.0)
    assert requests.get(public_url(site, "demo", "cortex", "fluo") + "0/2/1/0", timeout=60).status_code == 200


def test_levels_boss_cant_serve_are_not_offered(site, devboss):
    pending = open_group(public_url(site, "realboss", "pending", "seg"))
    assert [d["path"] for d in pending.attrs["multiscales"][0]["datasets"]] == ["0"]  # 500 off level 0 (4)
    assert requests.get(public_url(site, "realboss", "pending", "em") + "1/.zarray", timeout=30).status_code == 404
    based = requests.get(public_url(site, "realboss", "based", "em") + ".zattrs", timeout=30).json()
    assert [d["path"] for d in based["multiscales"][0]["datasets"]] == ["1", "2", "3", "4"]  # base level 1 (5)
    aniso = open_group(public_url(site, "realboss", "aniso", "em"))
    assert list(aniso.attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]) == [40, 6, 4]
    cloud = open_group(public_url(site, "realboss", "cloudvol", "em"))
    assert cloud["0"].ndim == 3  # BOSS answers time sample 0 to any range there (9): no t axis
    assert requests.get(public_url(site, "demo", "cortex", "nope") + ".zattrs", timeout=30).status_code == 404
    assert requests.get(public_url(site, "demo", "cortex", "em") + "0/99/0/0", timeout=30).status_code == 404
    edge = open_group(public_url(site, "realboss", "offset", "em"))["1"][:16, -5:, -7:]
    assert edge.shape == (16, 5, 7) and np.asarray(edge).dtype == np.uint8
