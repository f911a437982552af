"""A seeded devboss of its own, over HTTP, for the test suite (tests/conftest.py) and the benchmarks (bench/).

`start_devboss(folder)` migrates and seeds a fresh devboss database in `folder`, serves it with gunicorn on a
free loopback port and returns a `DevBoss` (its URL, environment and the seed's credentials). Stop it with
`procs.stop(server.proc)`.

A start costs seconds, so:
- migrations run once per process, into a template database file that every later devboss copies (the same
  file `migrate` would have made: the schema and the rows its post-migrate hooks write);
- gunicorn starts while the seed runs; nothing is asked of it before the seed is done;
- passwords are hashed with a fast hasher (DEVBOSS_PASSWORD_HASHERS, for devboss/settings.py to read):
  Django's default PBKDF2 takes 0.3 s a check, and every password grant and every token request of the
  portal (a confidential client, its secret hashed) checks one.

Also here, shared by the tests and the benchmarks: the portal's side of a test stack (a real access token from
devboss stored as a user's login, a Celery worker process sharing the test database). Nothing outside tests/
imports tests.
"""
import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from devboss import procs


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


FAST_PASSWORD_HASHERS = "django.contrib.auth.hashers.MD5PasswordHasher"

_template = {}
_template_lock = threading.Lock()


def migrated_database():
    """The path of a migrated, empty devboss database, made once per process (removed at exit)."""
    with _template_lock:
        path = _template.get("path")
        if path is None or not path.exists():
            root = Path(tempfile.mkdtemp(prefix="devboss-migrated-"))
            atexit.register(shutil.rmtree, root, True)
            path = root / "devboss.sqlite3"
            procs.run_devboss_command(["migrate", "--noinput", "-v", "0"],
                                      {"DEVBOSS_VAR_DIR": str(root), "DEVBOSS_DB": str(path)})
            _template["path"] = path
    return path


def _devboss_process(args, env, errors):
    """`python -m devboss <args>` started in the background, its errors into the file `errors` (its output, the
    seed's table of passwords and tokens, is dropped: the tests look for secrets in every log)."""
    return subprocess.Popen([sys.executable, "-m", "devboss", *args], env=procs.python_env(env), cwd=procs.REPO,
                            stdout=subprocess.DEVNULL, stderr=errors)


def start_devboss(tmp_root, extra_env=None, seed_args=()):
    """A migrated and seeded devboss in `tmp_root`, served over HTTP on a free port (see the module's doc)."""
    from devboss.oidc.keys import load_private_key

    var_dir = Path(tmp_root)
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "DEVBOSS_VAR_DIR": str(var_dir),
        "DEVBOSS_DB": str(var_dir / "devboss.sqlite3"),
        "DEVBOSS_PASSWORD_HASHERS": FAST_PASSWORD_HASHERS,
        **(extra_env or {}),
    }
    db = Path(env["DEVBOSS_DB"])
    if db.exists():  # a database of the caller's: migrate it as it is
        procs.run_devboss_command(["migrate", "--noinput", "-v", "0"], env)
    else:
        shutil.copyfile(migrated_database(), db)
    # The OIDC signing key, made here once rather than raced for by the seed and both gunicorn workers.
    load_private_key(env["DEVBOSS_VAR_DIR"])
    creds_file = var_dir / "credentials.json"
    port = procs.free_port()
    env["DEVBOSS_URL"] = f"http://127.0.0.1:{port}"
    seed_log_path = var_dir / "seed-errors.log"
    with open(seed_log_path, "ab") as seed_log:
        seed = _devboss_process(["seed", "--credentials-file", str(creds_file), *seed_args], env, seed_log)
    proc = None
    try:
        log = open(var_dir / "devboss.log", "ab")
        proc = procs.start_gunicorn("devboss.wsgi:application", port, env, log=log)
        if seed.wait(300) != 0:
            raise RuntimeError(f"devboss seed failed with exit code {seed.returncode}:\n"
                               + seed_log_path.read_text(errors="replace")[-3000:])
        procs.wait_for_http(f"http://127.0.0.1:{port}/ping/", proc=proc)
    except BaseException:
        if seed.poll() is None:
            seed.kill()
            seed.wait(10)
        procs.stop(proc)
        raise
    return DevBoss(
        url=f"http://127.0.0.1:{port}", port=port, var_dir=var_dir, env=env,
        credentials=json.loads(creds_file.read_text()), proc=proc,
    )


# --- The portal's side: users logged in at a devboss, a Celery worker process ---------------------------------

def password_grant(devboss, username):
    import requests

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
    import requests

    response = requests.get(
        f"{devboss.url}/auth/realms/BOSS/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {access_token}"}, timeout=10,
    )
    response.raise_for_status()
    return response.json()


def login_token(user, devboss, username):
    """Store a real devboss access token as `user`'s OIDC login (what allauth keeps after a login)."""
    from datetime import timedelta

    from allauth.socialaccount.models import SocialAccount, SocialToken
    from django.conf import settings
    from django.utils import timezone

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
    """A prefork Celery worker (concurrency 1) of the portal with `env`, its output appended to `log_path`."""
    log = open(log_path, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "prefork", "--concurrency", "1",
         "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=procs.python_env(env), cwd=procs.REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
