"""Shared fixtures: real servers on loopback ports (devboss, Redis), started once per test session.

The users: alice (owns the private collection), bob (another user), and an anonymous visitor.
Their passwords and devboss API tokens come from the seed command's credentials file.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devboss import procs
# The browser fixtures are registered here, once: a session fixture imported into several modules
# becomes several fixtures, and two Playwright sync sessions can't run in one thread.
from tests.browser import browser, page  # noqa: E402,F401
# Likewise the job fixtures: one Celery worker for the whole session.
from tests.jobs import (  # noqa: E402,F401
    alice, bob, boss_settings, celery_worker, celery_worker_process, idle_shared_worker,
)

# Tests never touch the developer's var/ folder (tests/settings.py), nor a Redis they did not start.


@dataclass
class DevBoss:
    url: str
    port: int
    var_dir: Path
    env: dict
    credentials: dict
    proc: object = None
    https_url: str = ""
    extra: dict = field(default_factory=dict)

    def token(self, username):
        return self.credentials["users"][username]["token"]

    def password(self, username):
        return self.credentials["users"][username]["password"]

    def remote(self, token="public"):
        """intern's BossRemote pointed at this devboss."""
        from intern.remote.boss import BossRemote

        return BossRemote({"protocol": "http", "host": f"127.0.0.1:{self.port}", "token": token})


def start_devboss(tmp_root, extra_env=None, seed_args=()):
    var_dir = Path(tmp_root)
    env = {
        "DEVBOSS_VAR_DIR": str(var_dir),
        "DEVBOSS_DB": str(var_dir / "devboss.sqlite3"),
        **(extra_env or {}),
    }
    procs.run_devboss_command(["migrate", "--noinput", "-v", "0"], env)
    creds_file = var_dir / "credentials.json"
    port = procs.free_port()
    env["DEVBOSS_URL"] = f"http://127.0.0.1:{port}"
    procs.run_devboss_command(["seed", "--credentials-file", str(creds_file), *seed_args], env)
    log = open(var_dir / "devboss.log", "ab")
    proc = procs.start_gunicorn("devboss.wsgi:application", port, env, log=log)
    procs.wait_for_http(f"http://127.0.0.1:{port}/ping/", proc=proc)
    return DevBoss(
        url=f"http://127.0.0.1:{port}", port=port, var_dir=var_dir, env=env,
        credentials=json.loads(creds_file.read_text()), proc=proc,
    )


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
