"""Load test: N simulated users browse and submit small cutouts for a bounded time, against a stack this
script starts on loopback (devboss + its OIDC provider, Redis, the portal under gunicorn on a temporary
SQLite database, one Celery worker).

    python -m bench.load [--users 8] [--seconds 60]

Each user is a thread with its own requests session holding an access token from the provider's password
grant (client "endpoint"), sent as a bearer token to the API; the browse pages are read as the public
visitor would. Prints requests/s, p50/p95 page latency, jobs completed per minute, errors (should be 0)
and the peak memory (VmHWM) of the gunicorn workers and the Celery processes.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from devboss import procs

PAGES = ["/c/", "/c/demo/", "/c/demo/cortex/"]
APIS = ["/api/collections/", "/api/collections/demo/experiments/cortex/", "/api/cutouts/", "/api/me/"]
JOB = {"collection": "demo", "experiment": "cortex", "channels": ["em"], "resolution": 0,
       "x": [0, 256], "y": [0, 256], "z": [100, 104]}
USERS = ("alice", "bob")


def start_devboss(root):
    env = {"DJANGO_SETTINGS_MODULE": "devboss.settings", "DEVBOSS_VAR_DIR": str(root),
           "DEVBOSS_DB": str(root / "devboss.sqlite3")}
    procs.run_devboss_command(["migrate", "--noinput", "-v", "0"], env)
    port = procs.free_port()
    env["DEVBOSS_URL"] = f"http://127.0.0.1:{port}"
    creds = root / "credentials.json"
    procs.run_devboss_command(["seed", "--credentials-file", str(creds)], env, capture=True)
    proc = procs.start_gunicorn("devboss.wsgi:application", port, env, log=open(root / "devboss.log", "ab"))
    procs.wait_for_http(f"http://127.0.0.1:{port}/ping/", proc=proc)
    return proc, f"http://127.0.0.1:{port}", json.loads(creds.read_text())


def grant(issuer, username, password):
    r = requests.post(f"{issuer}/protocol/openid-connect/token", timeout=10,
                      data={"grant_type": "password", "client_id": "endpoint", "username": username,
                            "password": password})
    r.raise_for_status()
    return r.json()


LINK_USER = """
import sys, json
from datetime import timedelta
from django.utils import timezone
from django.conf import settings
from django.contrib.auth import get_user_model
from allauth.socialaccount.models import SocialAccount, SocialToken
for username, sub, token, refresh in json.loads(sys.stdin.read()):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": username + "@example.org"})
    account, _ = SocialAccount.objects.get_or_create(user=user, provider=settings.OIDC_PROVIDER_ID, uid=sub)
    SocialToken.objects.filter(account=account).delete()
    SocialToken.objects.create(account=account, token=token, token_secret=refresh,
                               expires_at=timezone.now() + timedelta(seconds=300))
"""


def link_users(env, issuer, creds):
    """What a first browser login does: a portal user per provider account, with its tokens stored."""
    rows = []
    for username in USERS:
        answer = grant(issuer, username, creds["users"][username]["password"])
        info = requests.get(f"{issuer}/protocol/openid-connect/userinfo", timeout=10,
                            headers={"Authorization": f"Bearer {answer['access_token']}"}).json()
        rows.append((username, info["sub"], answer["access_token"], answer.get("refresh_token", "")))
    subprocess.run([sys.executable, "manage.py", "shell", "-c", LINK_USER], input=json.dumps(rows), text=True,
                   env=procs.python_env(env), cwd=procs.REPO, check=True)


def children(pid):
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def vm_hwm_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.page_ms, self.api_ms, self.errors, self.jobs = [], [], [], []
        self.requests = 0

    def record(self, kind, ms, problem=None):
        with self.lock:
            self.requests += 1
            (self.page_ms if kind == "page" else self.api_ms).append(ms)
            if problem:
                self.errors.append(problem)


def user_loop(base, token, deadline, stats, submit_every):
    session = requests.Session()
    bearer = {"Authorization": f"Bearer {token}"}
    next_submit = time.monotonic() + submit_every * (hash(token) % 100) / 100
    i = 0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_submit:
            next_submit += submit_every
            t = time.perf_counter()
            r = session.post(base + "/api/cutouts/", json=JOB, headers=bearer, timeout=60)
            stats.record("api", (time.perf_counter() - t) * 1000,
                         None if r.status_code == 202 else f"submit {r.status_code} {r.text[:200]}")
            if r.status_code == 202:
                with stats.lock:
                    stats.jobs.append((r.json()["id"], token))
            continue
        kind, path = ("page", PAGES[i % len(PAGES)]) if i % 2 == 0 else ("api", APIS[(i // 2) % len(APIS)])
        i += 1
        t = time.perf_counter()
        r = session.get(base + path, headers=bearer if kind == "api" else {}, timeout=60)
        stats.record(kind, (time.perf_counter() - t) * 1000,
                     None if r.status_code == 200 else f"GET {path} {r.status_code}")


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--submit-every", type=float, default=10.0, help="seconds between one user's jobs")
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="portal-load-"))
    started = []
    try:
        print(f"starting the stack in {root} ...", flush=True)
        devboss, boss_url, creds = start_devboss(root / "devboss")
        started.append(devboss)
        redis_port = procs.free_port()
        started.append(procs.start_redis(redis_port, root / "redis"))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        issuer = f"{boss_url}/auth/realms/BOSS"
        env = {"PORTAL_DEV": "1", "PORTAL_VAR_DIR": str(root / "portal"), "DJANGO_SETTINGS_MODULE": "portal.settings",
               "DATABASE_URL": f"sqlite:///{root / 'portal.sqlite3'}", "BOSS_URL": boss_url,
               "OIDC_SERVER_URL": issuer, "CELERY_BROKER_URL": redis_url, "REDIS_URL": redis_url,
               "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1", "CUTOUT_RESULTS_DIR": str(root / "results"),
               "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=procs.python_env(env),
                       cwd=procs.REPO, check=True)
        link_users(env, issuer, creds)
        port = procs.free_port()
        web = procs.start_gunicorn("portal.wsgi:application", port, env, workers=args.web_workers, threads=4,
                                   log=open(root / "portal.log", "ab"))
        started.append(web)
        base = f"http://127.0.0.1:{port}"
        procs.wait_for_http(base + "/", proc=web)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "prefork", "--concurrency", "2",
             "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=procs.python_env(env), cwd=procs.REPO, stdout=open(root / "worker.log", "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        started.append(worker)
        tokens = [grant(issuer, u, creds["users"][u]["password"])["access_token"] for u in USERS]

        stats = Stats()
        print(f"{args.users} users for {args.seconds:.0f} s against {base} ...", flush=True)
        begin = time.monotonic()
        deadline = begin + args.seconds
        threads = [threading.Thread(target=user_loop, args=(base, tokens[n % len(tokens)], deadline, stats,
                                                            args.submit_every), daemon=True)
                   for n in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - begin

        # Let the last jobs finish (bounded), then count.
        states = {}
        settle = time.monotonic() + 60
        while time.monotonic() < settle:
            states = {}
            for job_id, token in stats.jobs:
                r = requests.get(f"{base}/api/cutouts/{job_id}/", headers={"Authorization": f"Bearer {token}"},
                                 timeout=30)
                states[job_id] = r.json().get("state") if r.status_code == 200 else f"http {r.status_code}"
            if all(s in ("done", "failed", "cancelled") for s in states.values()):
                break
            time.sleep(1)
        done = [j for j, s in states.items() if s == "done"]
        failed = {j: s for j, s in states.items() if s != "done"}
        done_in_window = done  # completed jobs, measured over the run plus the settle time
        total_minutes = (time.monotonic() - begin) / 60

        web_pids = children(web.pid)
        worker_pids = [worker.pid, *children(worker.pid)]
        web_hwm = max((vm_hwm_kb(p) for p in web_pids), default=0)
        worker_hwm = max((vm_hwm_kb(p) for p in worker_pids), default=0)

        print("\n--- results ---")
        print(f"users: {args.users}, duration: {elapsed:.1f} s")
        print(f"requests: {stats.requests}  ({stats.requests / elapsed:.1f} req/s)")
        print(f"page latency: p50 {pct(stats.page_ms, 50):.0f} ms, p95 {pct(stats.page_ms, 95):.0f} ms "
              f"({len(stats.page_ms)} pages)")
        print(f"api latency:  p50 {pct(stats.api_ms, 50):.0f} ms, p95 {pct(stats.api_ms, 95):.0f} ms "
              f"({len(stats.api_ms)} calls)")
        print(f"jobs: submitted {len(stats.jobs)}, done {len(done_in_window)}, not done {len(failed)} "
              f"-> {len(done_in_window) / total_minutes:.1f} jobs/min")
        print(f"errors: {len(stats.errors) + len(failed)}")
        for problem in (stats.errors + [f"job {j}: {s}" for j, s in failed.items()])[:10]:
            print("  ", problem)
        print(f"peak memory (VmHWM): web worker {web_hwm / 1024:.0f} MiB (max of {len(web_pids)}), "
              f"celery {worker_hwm / 1024:.0f} MiB (max of {len(worker_pids)} processes)")
        return 1 if stats.errors or failed else 0
    finally:
        for proc in reversed(started):
            procs.stop(proc)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
