"""Cutout job fixtures, registered once for the whole suite by tests/conftest.py: a real Celery worker (prefork, on our own Redis) sharing the test database, and alice with a real
OIDC access token from devboss stored as her login token, so that jobs run as her."""
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from devboss import procs


def password_grant(devboss, username):
    response = requests.post(
        f"{devboss.url}/auth/realms/BOSS/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "endpoint", "username": username,
              "password": devboss.password(username)},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def userinfo(devboss, access_token):
    """The provider's claims for a token (sub, email, ...)."""
    response = requests.get(
        f"{devboss.url}/auth/realms/BOSS/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {access_token}"}, timeout=10,
    )
    response.raise_for_status()
    return response.json()


def database_url(settings_dict):
    """The URL of the test database (SQLite file or PostgreSQL), for a worker process to share it."""
    from urllib.parse import quote

    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    auth = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        auth += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{settings_dict['NAME']}"


def worker_env(settings_dict, devboss, redis_url, extra=None):
    from django.conf import settings

    return {
        "PORTAL_DEV": "1",
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "DATABASE_URL": database_url(settings_dict),
        "BOSS_URL": devboss.url,
        "OIDC_SERVER_URL": f"{devboss.url}/auth/realms/BOSS",
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "CUTOUT_RESULTS_DIR": str(settings.CUTOUT_RESULTS_DIR),
        "CUTOUT_BLOCK_BYTES": str(1024 * 1024),  # small blocks: every test box spans several
        "CUTOUT_RETRY_BACKOFF": "0.05",
        "CUTOUT_FETCH_CONCURRENCY": "3",
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


def start_worker(env, log_path):
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "prefork", "--concurrency", "1",
         "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=procs.python_env(env), cwd=procs.REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, devboss, redis_server, tmp_path_factory):
    from django.db import connection

    from portal.celery import app

    app.conf.broker_url = redis_server
    env = worker_env(connection.settings_dict, devboss, redis_server)
    proc = start_worker(env, tmp_path_factory.mktemp("worker") / "worker.log")
    SHARED_WORKER["redis_url"] = redis_server
    yield proc
    SHARED_WORKER.clear()
    procs.stop(proc)


SHARED_WORKER = {}  # the redis URL of the suite's worker, once started


def worker_busy(redis_url):
    """How much the worker on `redis_url` still has to do: tasks running, reserved or scheduled; messages waiting."""
    from portal.celery import app

    with app.connection(redis_url) as connection:
        waiting = connection.default_channel.client.llen(app.conf.task_default_queue or "celery")
        inspect = app.control.inspect(timeout=2.0, limit=1, connection=connection)
        held = [task for answer in (inspect.active(), inspect.reserved(), inspect.scheduled())
                for tasks in (answer or {}).values() for task in tasks]
    return waiting + len(held)


def settle_worker(redis_url, timeout=60, cancel=True):
    """Leave the worker on `redis_url` idle before the test database is flushed: a job still running then would hold
    row locks that the flush's TRUNCATE deadlocks against (PostgreSQL), and its writes would leak into the next test.
    Jobs the test left queued or running are cancelled first (`cancel`), so the worker stops at its next check."""
    import time

    from cutouts.models import CutoutJob

    if cancel:
        CutoutJob.objects.filter(state__in=CutoutJob.ACTIVE).update(state=CutoutJob.CANCELLED)
    deadline = time.monotonic() + timeout
    while worker_busy(redis_url) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def idle_shared_worker(request):
    """After every test, once the suite's worker runs: the worker is left idle (see settle_worker). Any test may have
    queued a job, with or without asking for the worker. For a test on a transactional database this fixture takes
    the database first, so that it ends before the database is flushed."""
    marker = request.node.get_closest_marker("django_db")
    transactional = ("transactional_db" in request.fixturenames or "live_server" in request.fixturenames
                     or bool(marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,))))
    if transactional:
        request.getfixturevalue("transactional_db")
    yield
    if SHARED_WORKER:
        settle_worker(SHARED_WORKER["redis_url"], cancel=transactional)


@pytest.fixture
def celery_worker(transactional_db, celery_worker_process):
    """The suite's worker, for one test on a transactional database (the worker is another process)."""
    return celery_worker_process


@pytest.fixture
def boss_settings(settings, devboss, redis_server):
    settings.BOSS_URL = devboss.url
    settings.OIDC_SERVER_URL = f"{devboss.url}/auth/realms/BOSS"
    settings.CELERY_BROKER_URL = redis_server
    return settings


def login_token(user, devboss, username):
    """Store a real devboss access token as `user`'s OIDC login (what allauth keeps after a login)."""
    from allauth.socialaccount.models import SocialAccount, SocialToken
    from django.conf import settings

    answer = password_grant(devboss, username)
    info = userinfo(devboss, answer["access_token"])
    account, _ = SocialAccount.objects.get_or_create(
        user=user, provider=settings.OIDC_PROVIDER_ID, uid=info["sub"], defaults={"extra_data": info}
    )
    SocialToken.objects.filter(account=account).delete()
    return SocialToken.objects.create(
        account=account, token=answer["access_token"], token_secret=answer.get("refresh_token", ""),
        expires_at=timezone.now() + timedelta(seconds=int(answer.get("expires_in", 300))),
    )


@pytest.fixture
def alice(transactional_db, devboss, boss_settings):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("alice", email="alice@example.org", first_name="Alice")
    login_token(user, devboss, "alice")
    return user


@pytest.fixture
def bob(transactional_db, devboss, boss_settings):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bob", email="bob@example.org")
    login_token(user, devboss, "bob")
    return user
