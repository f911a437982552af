"""Cutout job fixtures, registered once for the whole suite by tests/conftest.py: a real Celery worker (prefork, on our own Redis) sharing the test database, and alice with a real
OIDC access token from devboss stored as her login token, so that jobs run as her."""
import pytest

from devboss import procs
from devboss.testing import (  # noqa: F401 (tests import these helpers from here)
    database_url, login_token, password_grant, start_worker, userinfo, worker_env,
)


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
