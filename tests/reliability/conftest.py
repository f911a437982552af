"""Fixtures for the reliability suite: a devboss of our own whose faults we can switch on (the session
devboss stays clean), Redis servers and Celery workers we start, stop and kill ourselves, and the
session fixtures (devboss, alice, bob, celery_worker) for the access and bad-input tests."""
import copy
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from devboss import procs
from devboss.testing import start_devboss
from tests.jobs import login_token, start_worker, worker_env  # the fixtures are global (tests/conftest.py)


@pytest.fixture(scope="session")
def fault_devboss(tmp_path_factory):
    """A devboss whose fault injection the reliability tests switch on and off."""
    server = start_devboss(tmp_path_factory.mktemp("devboss-faults"), {"DJANGO_SETTINGS_MODULE": "devboss.settings"})
    yield server
    procs.stop(server.proc)


def set_faults(devboss, **faults):
    """Switch on devboss fault injection (error_rate, delay_rate, delay_seconds, truncate_rate)."""
    response = requests.post(f"{devboss.url}/devboss/faults", json=faults, timeout=10,
                             headers={"Authorization": f"Token {devboss.token('admin')}"})
    response.raise_for_status()
    return response.json()


def reset_faults(devboss):
    headers = {"Authorization": f"Token {devboss.token('admin')}"}
    requests.delete(f"{devboss.url}/devboss/faults", headers=headers, timeout=10).raise_for_status()
    requests.delete(f"{devboss.url}/devboss/stats", headers=headers, timeout=10).raise_for_status()


def cutouts_served(devboss):
    headers = {"Authorization": f"Token {devboss.token('admin')}"}
    return requests.get(f"{devboss.url}/devboss/stats", headers=headers, timeout=10).json()["total"]


def start_redis(port, workdir, persistent=False):
    """A redis-server of our own; with `persistent`, every write goes to an append-only file first, so a
    restart keeps the queue."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    args = [procs.find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--dir", str(workdir), "--daemonize", "no"]
    args += ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=open(workdir / "redis.log", "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    procs.wait_for_port(port, proc)
    return proc


def use_broker(url):
    """Point the test process's Celery producer at `url` (drop pooled connections to the old one)."""
    from portal.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    return previous


def kill_group(proc):
    """SIGKILL a worker and its pool children, as an OOM killer or a lost machine would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_until(predicate, timeout=60, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def wait_for_job(job, states=("done", "failed", "cancelled"), timeout=120):
    def settled():
        job.refresh_from_db()
        return job.state in states

    try:
        wait_until(settled, timeout, 0.2, f"job {job.pk} to reach {states}")
    except AssertionError:
        raise AssertionError(f"job stayed {job.state} ({job.blocks_done}/{job.blocks_total}): {job.error}") from None
    return job


def user_with_token(devboss, username, email=None):
    """A portal user holding a real access token from `devboss` (as after a browser login)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, email=email or f"{username}@example.org")
    login_token(user, devboss, username)
    return user


@pytest.fixture
def point_at(settings):
    """Point the portal's BOSS client and Celery producer at a devboss and a Redis of the test's choice."""
    previous = []

    def point(devboss, redis_url, results_dir):
        settings.BOSS_URL = devboss.url
        settings.OIDC_SERVER_URL = f"{devboss.url}/auth/realms/BOSS"
        providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)  # allauth's login flow too
        providers["openid_connect"]["APPS"][0]["settings"]["server_url"] = settings.OIDC_SERVER_URL
        settings.SOCIALACCOUNT_PROVIDERS = providers
        settings.CELERY_BROKER_URL = redis_url
        settings.CUTOUT_RESULTS_DIR = Path(results_dir)
        previous.append(use_broker(redis_url))
        return settings

    yield point
    if previous:
        use_broker(previous[0])


@pytest.fixture
def alice_jobs(alice, devboss, redis_server, point_at, tmp_path):
    """alice's finished job (made in-process from devboss over HTTP) and a failed one: (done, failed)."""
    from cutouts import engine
    from cutouts.validation import validate

    box = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
           "x": [0, 200], "y": [0, 200], "z": [100, 104]}
    point_at(devboss, redis_server, tmp_path)
    done = validate(alice, box)
    done.save()
    assert done.start("in-process")
    engine.run(done)
    done.refresh_from_db()
    assert done.state == "done", done.error
    failed = validate(alice, box)
    failed.state, failed.error = "failed", "a test failure"
    failed.save()
    return done, failed
