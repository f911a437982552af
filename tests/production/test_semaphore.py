"""The Redis semaphore that caps block requests to BOSS across all workers (a real Redis)."""
import multiprocessing
import threading
import time

import pytest
import redis

from cutouts.semaphore import Semaphore


@pytest.fixture
def client(redis_server):
    r = redis.Redis.from_url(redis_server)
    yield r
    r.close()


@pytest.fixture
def name(request, client):
    key = f"test:sem:{request.node.name}"
    client.delete(key)
    return key


def test_it_gives_out_at_most_limit_slots(client, name):
    sem = Semaphore(client, name, limit=2)
    a, b = sem.try_acquire(), sem.try_acquire()
    assert a and b and a != b
    assert sem.try_acquire() is None
    assert sem.holders() == 2
    sem.release(a)
    assert sem.try_acquire() is not None


def test_a_waiter_gets_the_slot_when_it_is_released(client, name):
    sem = Semaphore(client, name, limit=1)
    token = sem.acquire()
    threading.Timer(0.3, sem.release, args=[token]).start()
    started = time.monotonic()
    assert sem.acquire(timeout=5) is not None
    assert 0.2 < time.monotonic() - started < 3


def test_acquire_gives_up_after_its_timeout(client, name):
    sem = Semaphore(client, name, limit=1)
    assert sem.acquire() is not None
    assert sem.acquire(timeout=0.2) is None


def test_many_threads_never_hold_more_than_the_limit(client, name):
    sem = Semaphore(client, name, limit=3, poll_seconds=0.01)
    lock = threading.Lock()
    inside, peak = [0], [0]

    def work():
        for _ in range(5):
            with sem.slot():
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.01)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 3
    assert sem.holders() == 0


def _hold_and_die(url, name, ready):
    sem = Semaphore(redis.Redis.from_url(url), name, limit=1, lease_seconds=1)
    assert sem.acquire(timeout=5)
    ready.set()
    time.sleep(60)  # killed here, holding the slot


def test_a_killed_holders_lease_frees_itself(redis_server, client, name):
    ready = multiprocessing.get_context("spawn").Event()
    holder = multiprocessing.get_context("spawn").Process(target=_hold_and_die, args=(redis_server, name, ready))
    holder.start()
    try:
        assert ready.wait(30)
        holder.kill()
        holder.join(10)
        sem = Semaphore(client, name, limit=1, lease_seconds=1)
        assert sem.try_acquire() is None  # the dead worker's lease still counts...
        started = time.monotonic()
        assert sem.acquire(timeout=5) is not None  # ...until it expires
        assert time.monotonic() - started < 2
    finally:
        holder.kill()


def test_the_engine_takes_a_slot_around_each_block_request(settings, redis_server, client, monkeypatch):
    from cutouts import semaphore

    settings.CELERY_BROKER_URL = redis_server
    settings.BOSS_MAX_CONCURRENT_REQUESTS = 1
    client.delete("portal:boss-requests")
    with semaphore.boss_request_slot():
        assert semaphore.boss_requests().holders() == 1
        assert semaphore.boss_requests().try_acquire() is None
    assert semaphore.boss_requests().holders() == 0
    settings.BOSS_MAX_CONCURRENT_REQUESTS = 0
    assert semaphore.boss_requests() is None
