"""portal.boss.client: typed results from devboss, BOSS failures mapped to the portal's errors, caching."""
import time
from unittest import mock

import pytest
import requests
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

from devboss import procs
from bossdb import errors
from portal.boss import client

ANON = AnonymousUser()


def test_it_lists_public_collections_for_an_anonymous_visitor(boss):
    names = client.list_collections(ANON)
    assert "demo" in names
    assert "alice_lab" not in names


def test_it_reads_the_seeded_experiment_frame_channels_and_levels(boss):
    detail = client.get_experiment_detail(ANON, "demo", "cortex")
    assert detail.experiment.coord_frame == "demo_frame"
    assert detail.experiment.num_hierarchy_levels == 4
    frame = detail.frame
    assert (frame.x_start, frame.x_stop, frame.y_start, frame.y_stop, frame.z_start, frame.z_stop) == (
        0, 2048, 0, 2048, 100, 228)
    assert frame.voxel_size == (4.0, 4.0, 40.0) and frame.voxel_unit == "nanometers"
    assert frame.extent == (2048, 2048, 128)
    assert frame.physical_extent == (8192.0, 8192.0, 5120.0)
    assert [(c.name, c.type, c.datatype) for c in detail.channels] == [
        ("em", "image", "uint8"), ("fluo", "image", "uint16"), ("seg", "annotation", "uint64")]
    assert [lv.voxel_size for lv in detail.levels] == [(4, 4, 40), (8, 8, 40), (16, 16, 40), (32, 32, 40)]
    assert [lv.size for lv in detail.levels] == [(2048, 2048, 128), (1024, 1024, 128), (512, 512, 128),
                                                 (256, 256, 128)]


def test_a_missing_collection_is_not_found_and_a_private_one_forbidden(boss):
    with pytest.raises(errors.BossNotFound, match="Collection nope does not exist"):
        client.get_collection(ANON, "nope")
    with pytest.raises(errors.BossForbidden):
        client.get_collection(ANON, "alice_lab")


@pytest.mark.parametrize("status, error", [
    (401, errors.BossForbidden), (403, errors.BossForbidden), (404, errors.BossNotFound),
    (400, errors.BossBadRequest), (500, errors.BossUnavailable), (503, errors.BossUnavailable),
])
def test_boss_statuses_map_to_portal_errors(fake_boss, status, error):
    fake_boss.status, fake_boss.body = status, {"status": status, "code": 0, "message": "no"}
    with pytest.raises(error) as caught:
        client.get_collection(ANON, "demo")
    assert type(caught.value) is error
    with pytest.raises(error):
        client.get_levels(ANON, "demo", "cortex", "em")


def test_an_unreadable_answer_is_unavailable(fake_boss):
    fake_boss.body = {"unexpected": "shape"}
    with pytest.raises(errors.BossUnavailable):
        client.list_collections(ANON)
    with pytest.raises(errors.BossUnavailable):
        client.get_levels(ANON, "demo", "cortex", "em")


def test_a_slow_boss_is_a_timeout(fake_boss, settings):
    settings.BOSS_PAGE_TIMEOUT, settings.BOSS_READ_TIMEOUT = 0.3, 60  # pages have their own, short budget
    fake_boss.delay = 1.0
    with pytest.raises(errors.BossTimeout):
        client.get_collection(ANON, "demo")
    with pytest.raises(errors.BossTimeout):
        client.get_levels(ANON, "demo", "cortex", "em")


def test_a_closed_port_is_unavailable(settings):
    settings.BOSS_URL = f"http://127.0.0.1:{procs.free_port()}"
    cache.clear()
    with pytest.raises(errors.BossUnavailable) as caught:
        client.list_collections(ANON)
    assert not isinstance(caught.value, errors.BossTimeout)


class CountingSend:
    """Counts the HTTP requests the portal sends (every BOSS call goes through requests)."""

    def __init__(self):
        self.urls = []
        self.real = requests.adapters.HTTPAdapter.send

    def __call__(self, adapter, request, *args, **kwargs):
        self.urls.append(request.url)
        return self.real(adapter, request, *args, **kwargs)


@pytest.fixture
def counting():
    counter = CountingSend()
    with mock.patch.object(requests.adapters.HTTPAdapter, "send", autospec=True, side_effect=counter):
        yield counter


def test_a_second_read_within_the_lifetime_makes_no_request(boss, counting):
    first = client.get_experiment_detail(ANON, "demo", "cortex")
    sent = len(counting.urls)
    assert sent >= 6  # experiment, frame, channel list, three channels, levels
    assert client.get_experiment_detail(ANON, "demo", "cortex") == first
    assert len(counting.urls) == sent


def test_the_channels_are_asked_for_while_the_experiment_and_its_frame_are(boss):
    sent = []
    real = requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):
        sent.append(request.url.split("/v1/", 1)[1])
        if request.url.rstrip("/").endswith("/experiment/cortex"):
            time.sleep(0.3)  # a slow answer: the other branch goes on meanwhile
        return real(adapter, request, *args, **kwargs)

    with mock.patch.object(requests.adapters.HTTPAdapter, "send", autospec=True, side_effect=send):
        detail = client.get_experiment_detail(ANON, "demo", "cortex")
    assert [c.name for c in detail.channels] == ["em", "fluo", "seg"] and detail.levels
    frame = next(i for i, url in enumerate(sent) if url.startswith("coord/"))
    assert any(url.startswith("downsample/") for url in sent[:frame])  # channels and levels came first


def test_the_experiments_error_comes_first(boss):
    with pytest.raises(errors.BossNotFound, match="nope"):  # its channel list is missing too
        client.get_experiment_detail(ANON, "demo", "nope")


def test_refresh_bypasses_the_cache(boss, counting):
    client.get_collection(ANON, "demo")
    client.get_collection(ANON, "demo", refresh=True)
    assert len(counting.urls) == 2


def test_the_cache_expires(boss, counting, settings):
    settings.BOSS_CACHE_SECONDS = 0  # Django: 0 means "don't cache"
    client.get_collection(ANON, "demo")
    client.get_collection(ANON, "demo")
    assert len(counting.urls) == 2


def test_users_get_separate_cache_entries_and_keys_hold_no_token(boss, django_user_model, db):
    alice = django_user_model.objects.create(username="alice")
    alice.boss_credential = client.credential_for(ANON).__class__("Token", boss.token("alice"))
    assert "alice_lab" in client.list_collections(alice)
    assert "alice_lab" not in client.list_collections(ANON)  # not served alice's cached list
    keys = list(cache._cache.keys())
    assert keys and not any(boss.token("alice") in k or "public" in k for k in keys)


def test_errors_are_not_cached(fake_boss):
    fake_boss.status = 500
    with pytest.raises(errors.BossUnavailable):
        client.get_collection(ANON, "demo")
    fake_boss.status, fake_boss.body = 200, {"name": "demo", "description": "d", "creator": "admin", "public": True}
    assert client.get_collection(ANON, "demo").description == "d"
