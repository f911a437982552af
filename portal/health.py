"""/healthz for load balancers and orchestration: is the database up, is Redis (the broker) up, does BOSS
answer? 200 when all are, else 503 naming what failed. No login; the answer names no host, URL or secret."""
import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from portal.boss import client
from bossdb.errors import BossError

log = logging.getLogger(__name__)
TIMEOUT = 3.0  # seconds per check: a health check must answer before the balancer gives up


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis():
    r = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        r.ping()
    finally:
        r.close()


def check_boss():
    client.ping(timeout=TIMEOUT)


CHECKS = {"database": check_database, "redis": check_redis, "boss": check_boss}


@never_cache
def healthz(request):
    answer = {}
    for name, check in CHECKS.items():
        try:
            check()
        except (Exception, BossError) as exc:
            # The log says why; the public answer only says which.
            log.warning("healthz: %s failed: %s", name, type(exc).__name__)
            answer[name] = "failed"
        else:
            answer[name] = "ok"
    healthy = all(v == "ok" for v in answer.values())
    return JsonResponse({"status": "ok" if healthy else "failed", **answer}, status=200 if healthy else 503)


@never_cache
def ping(request):
    """Liveness only: the process answers (no database, Redis or BOSS), for probes and as the benchmarks'
    trivial view (bench/pages_bench.py)."""
    return HttpResponse("ok\n", content_type="text/plain")
