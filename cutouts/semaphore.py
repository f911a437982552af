"""A counting semaphore in Redis, shared by every worker on every machine: it caps the block requests in
flight to BOSS at BOSS_MAX_CONCURRENT_REQUESTS, however many workers and threads there are.

The holders are a sorted set of leases scored by their expiry time (Redis's own clock, so machines need
not agree on the time). Taking a slot first drops expired leases. A lease is short (BOSS_REQUEST_LEASE_SECONDS,
15 s) and a thread in each process renews the leases that process holds every third of it, however long a
request takes: a worker killed while holding slots frees them within seconds, without anyone cleaning up
(with long leases, a few killed workers would hold every slot for minutes and stall every job).
"""
import logging
import threading
import time
import uuid
from contextlib import contextmanager

import redis
from django.conf import settings

log = logging.getLogger(__name__)

# KEYS[1] the set; ARGV: limit, lease seconds, token. Returns 1 when the token got a slot.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
  return 1
end
return 0
"""


# KEYS[1] the set; ARGV: lease seconds, tokens... Pushes back the expiry of the tokens still held.
_RENEW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], t + tonumber(ARGV[1]), ARGV[i])
  end
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
return 1
"""

_held = {}  # (id(client), name) -> {token}: this process's leases, renewed by the keeper thread
_held_lock = threading.Lock()
_keeper = None


def _keep_leases(semaphore):
    """Start (once per process) the thread that renews this process's leases."""
    global _keeper
    with _held_lock:
        if _keeper is not None and _keeper.is_alive():
            return

        def renew():
            while True:
                time.sleep(max(0.2, semaphore.lease_seconds / 3))
                with _held_lock:
                    tokens = list(_held.get(semaphore.key, ()))
                if tokens:
                    try:
                        semaphore._renew(keys=[semaphore.name], args=[semaphore.lease_seconds, *tokens])
                    except redis.RedisError:
                        pass  # Redis restarting: the leases it kept expire, the next acquire takes new ones

        _keeper = threading.Thread(target=renew, name="boss-slot-leases", daemon=True)
        _keeper.start()


class Semaphore:
    def __init__(self, client, name, limit, lease_seconds=300, poll_seconds=0.05):
        self.client = client
        self.name = name
        self.limit = limit
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self.key = (id(client), name)

    def try_acquire(self):
        """A lease token, or None when all slots are taken."""
        token = uuid.uuid4().hex
        if not self._acquire(keys=[self.name], args=[self.limit, self.lease_seconds, token]):
            return None
        with _held_lock:
            _held.setdefault(self.key, set()).add(token)
        _keep_leases(self)
        return token

    def acquire(self, timeout=None):
        """Wait for a slot (for ever, or `timeout` seconds: then None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.poll_seconds
        while True:
            token = self.try_acquire()
            if token or (deadline is not None and time.monotonic() >= deadline):
                return token
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def release(self, token):
        with _held_lock:
            _held.get(self.key, set()).discard(token)
        self.client.zrem(self.name, token)

    def holders(self):
        """Leases not yet expired (for tests and monitoring)."""
        now = self.client.time()
        return self.client.zcount(self.name, now[0] + now[1] / 1e6, "+inf")

    @contextmanager
    def slot(self):
        token = self.acquire()
        try:
            yield token
        finally:
            self.release(token)


_clients = {}
_lock = threading.Lock()


def boss_requests():
    """The semaphore around block requests to BOSS, or None when the cap is off (0) or there is no Redis."""
    limit = settings.BOSS_MAX_CONCURRENT_REQUESTS
    url = settings.CELERY_BROKER_URL
    if limit <= 0 or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    with _lock:  # one connection pool per URL and process
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=10)
    return Semaphore(client, "portal:boss-requests", limit, settings.BOSS_REQUEST_LEASE_SECONDS)


@contextmanager
def boss_request_slot():
    """A slot of the cap, held for one request. With Redis down (restarting), the request waits for it up to
    BOSS_SLOT_WAIT_SECONDS, then goes ahead uncapped: a job never fails for want of the semaphore."""
    sem = boss_requests()
    token = None
    if sem is not None:
        deadline = time.monotonic() + settings.BOSS_SLOT_WAIT_SECONDS
        while True:
            try:
                token = sem.acquire()
                break
            except redis.RedisError as exc:
                if time.monotonic() >= deadline:
                    log.warning("no Redis for the BOSS request cap (%s): going ahead without a slot", exc)
                    break
                time.sleep(0.5)
    try:
        yield token
    finally:
        if token is not None:
            try:
                sem.release(token)
            except redis.RedisError:
                pass  # the lease expires by itself
