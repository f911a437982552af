"""Bearer tokens: the userinfo answers are cached in the one Redis that every web process shares (CACHE_URL,
as `make run` and docker-compose set it), so a revoked token stops working in all of them at once, within the
cache's lifetime: another process sees the same entry, and it ends for everyone at the same moment."""
import hashlib
import subprocess
import sys
import time

import pytest
import requests

from devboss import procs
from tests.auth.conftest import password_grant
from tests.auth.test_api import alice  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

READ = """
import hashlib, sys
import django
django.setup()
from django.core.cache import cache
print("ready", flush=True)
for line in sys.stdin:
    key = "oidc-userinfo:" + hashlib.sha256(line.strip().encode()).hexdigest()
    claims = cache.get(key)
    print(claims["sub"] if claims else "none", flush=True)
"""


class OtherProcess:
    """Another web process of the portal, started (Django set up) before the clock matters: asked for a token,
    it says what its cache holds for it at that moment."""

    def __init__(self, cache_url):
        env = procs.python_env({"DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_DEV": "1", "CACHE_URL": cache_url})
        self.proc = subprocess.Popen([sys.executable, "-c", READ], env=env, cwd=procs.REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def __call__(self, token):
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self):
        self.proc.kill()
        self.proc.wait(10)


def test_a_revoked_token_stops_in_every_web_process_at_once(portal, client, oidc_devboss, alice, redis_server):  # noqa: F811
    from django.core.cache import caches

    cache_url = redis_server.rsplit("/", 1)[0] + "/3"
    portal.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}}
    portal.OIDC_USERINFO_CACHE_SECONDS = 3
    caches["default"].clear()
    other_process = OtherProcess(cache_url)
    try:
        check_revocation(portal, client, oidc_devboss, alice, cache_url, other_process)
    finally:
        other_process.close()


def check_revocation(portal, client, oidc_devboss, alice, cache_url, other_process):  # noqa: F811
    from django.core.cache import caches

    token = password_grant(oidc_devboss, "alice")["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/me/", **bearer).status_code == 200
    sub = alice.socialaccount_set.get().uid
    assert other_process(token) == sub  # the same answer, for every web process

    requests.post(f"{oidc_devboss.url}/auth/realms/BOSS/protocol/openid-connect/revoke",
                  data={"token": token, "client_id": "endpoint"}, timeout=10).raise_for_status()
    time.sleep(3.5)  # the cache's lifetime
    assert other_process(token) == "none"  # gone for every process at once
    response = client.get("/api/me/", **bearer)
    assert response.status_code == 401
    key = "oidc-userinfo:" + hashlib.sha256(token.encode()).hexdigest()
    assert caches["default"].get(key) is None  # a refused token is not cached as valid
