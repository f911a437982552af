"""Shared fixtures: real servers on loopback ports (devboss, Redis), started once per test session.

The users: alice (owns the private collection), bob (another user), and an anonymous visitor.
Their passwords and devboss API tokens come from the seed command's credentials file.
"""
import pytest

from devboss import procs
# start_devboss and DevBoss live in devboss/testing.py (the benchmarks use them too); re-exported here.
from devboss.testing import DevBoss, start_devboss  # noqa: F401
# The browser fixtures are registered here, once: a session fixture imported into several modules
# becomes several fixtures, and two Playwright sync sessions can't run in one thread.
from tests.browser import browser, page, site  # noqa: E402,F401
# Likewise the job fixtures: one Celery worker for the whole session.
from tests.jobs import (  # noqa: E402,F401
    alice, bob, boss_settings, celery_worker, celery_worker_process, idle_shared_worker,
)

# Tests never touch the developer's var/ folder (tests/settings.py), nor a Redis they did not start.


@pytest.fixture(scope="session")
def devboss(tmp_path_factory):
    """A seeded devboss over HTTP, shared by the whole test session (read-only tests only)."""
    server = start_devboss(tmp_path_factory.mktemp("devboss"))
    yield server
    procs.stop(server.proc)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server of our own on a free port (never the machine's 6379)."""
    port = procs.free_port()
    proc = procs.start_redis(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    procs.stop(proc)
