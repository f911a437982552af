"""The crash suite: jobs under the real `make run` supervisor while its processes are killed at random.

    python -m bench.crash [--jobs 20] [--rounds 3] [--seed 1]

Starts `python -m devboss.devrun` (what `make run` runs) on free ports in a temporary folder, submits
`--jobs` cutout jobs through the portal's API as two users (bearer tokens from devboss's OIDC provider),
slows devboss down so that the jobs are caught mid-way, and kills, at random moments, each of the worker's
pool child, the worker's main process, beat, Redis, devboss and the portal, `--rounds` times each (SIGKILL,
one at a time, each once the supervisor has started the last one again). Then it waits for every job to end
and reports: jobs submitted, done, failed with a reason, lost, stuck (no progress for 60 s after the last
kill), files compared voxel for voxel with BOSS and how many differ, partial files left, restarts
performed, orphans left after `make run` stopped. tests/reliability/test_crash_suite.py runs it.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
import tifffile

from devboss import procs
from devboss.api import procedural

KINDS = ("worker-child", "worker", "beat", "redis", "devboss", "portal")
STUCK_SECONDS = 60
BOX = {"x": [0, 1024], "y": [0, 1024], "z": [112, 128]}  # 4 cuboids; each job 2 to 12


class Stack:
    """`make run` in a folder of its own, on free ports."""

    def __init__(self, folder, env_extra):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ports = {k: procs.free_port() for k in ("DEVBOSS_PORT", "DEVBOSS_HTTPS_PORT", "PORTAL_PORT",
                                                     "DEV_REDIS_PORT")}
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                                                                "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update({k: str(v) for k, v in self.ports.items()})
        env.update(DEV_VAR_DIR=str(self.folder), PORTAL_VAR_DIR=str(self.folder / "portal"), DEBUG="0", **env_extra)
        self.out = open(self.folder / "make-run.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "devboss.devrun"], env=env, cwd=procs.REPO,
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        self.portal = f"http://127.0.0.1:{self.ports['PORTAL_PORT']}"
        self.boss = f"http://127.0.0.1:{self.ports['DEVBOSS_PORT']}"
        deadline = time.monotonic() + 240
        while b"Ctrl-C stops everything" not in (self.folder / "make-run.log").read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("make run did not come up:\n" + self.log()[-3000:])
            time.sleep(0.5)
        self.creds = json.loads((self.folder / "devboss" / "credentials.json").read_text())

    def log(self):
        return (self.folder / "make-run.log").read_text(errors="replace")

    def status(self):
        return json.loads((self.folder / "run" / "supervisor.json").read_text())

    def pid(self, name):
        return self.status()["children"][name]["pid"]

    def token(self, user):
        response = requests.post(
            f"{self.boss}/auth/realms/BOSS/protocol/openid-connect/token", timeout=10,
            data={"grant_type": "password", "client_id": "endpoint", "username": user,
                  "password": self.creds["users"][user]["password"]})
        response.raise_for_status()
        return response.json()["access_token"]

    def faults(self, **faults):
        requests.post(f"{self.boss}/devboss/faults", json=faults, timeout=10,
                      headers={"Authorization": f"Token {self.creds['users']['admin']['token']}"}).raise_for_status()

    def stop(self):
        """SIGTERM to `make run`, as Ctrl-C; returns the processes of the stack still alive after it."""
        pids = [c["pid"] for c in self.status()["children"].values() if c["pid"]]
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        time.sleep(1)
        return [pid for pid in pids if _alive(pid)]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def kill(stack, kind):
    """SIGKILL one process of the stack; returns its pid, or None when it is not up (restarting)."""
    if kind == "worker-child":
        main = stack.pid("worker")
        pids = _children(main) if main else []
        pid = pids[0] if pids else None
    else:
        pid = stack.pid(kind)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
    return pid


def wait_up(stack, timeout=60):
    """Until the supervisor has every child running again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(c["pid"] for c in stack.status()["children"].values()):
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    return False


class Api:
    """The portal's API as a script sees it, patient with a portal that is being restarted."""

    def __init__(self, stack, user):
        self.stack, self.user = stack, user
        self.headers = {"Authorization": f"Bearer {stack.token(user)}"}

    def call(self, method, path, **kwargs):
        for _ in range(120):
            try:
                response = requests.request(method, self.stack.portal + path, headers=self.headers, timeout=20,
                                            **kwargs)
                if response.status_code == 401:  # the access token expired: a script gets a fresh one
                    self.headers = {"Authorization": f"Bearer {self.stack.token(self.user)}"}
                    continue
                if response.status_code < 500:
                    return response
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{method} {path}: the portal did not answer for a minute")


KINDS_OF = {"em": ("uint8", "image"), "seg": ("uint64", "annotation")}


def expected(job, channel="em"):
    dtype, kind = KINDS_OF[channel]
    return procedural.cutout(f"demo/cortex/{channel}", dtype, kind, 0, job["x"], job["y"], job["z"], (0, 1))[0]


def matches(path, job):
    """Whether the result holds the box voxel for voxel (each channel's TIFF, for a TIFF ZIP)."""
    if job["format"] != "tiff-zip":
        return np.array_equal(read_result(path, job["format"]), expected(job))
    import io
    import zipfile

    with zipfile.ZipFile(path) as zf:
        if zf.testzip() is not None:
            return False
        members = {ch: next(n for n in zf.namelist() if f"_{ch}_" in n) for ch in job["channels"]}
        return all(np.array_equal(tifffile.imread(io.BytesIO(zf.read(members[ch]))), expected(job, ch))
                   for ch in job["channels"])


def run(jobs=20, rounds=3, seed=1, folder=None, say=print):
    rng = random.Random(seed)
    folder = Path(folder or tempfile.mkdtemp(prefix="crash-"))
    env = {
        "CUTOUT_STALE_SECONDS": "10", "CUTOUT_HEARTBEAT_SECONDS": "2", "CUTOUT_RECONCILE_SECONDS": "3",
        "CUTOUT_REQUEUE_SECONDS": "5", "CUTOUT_PROGRESS_SECONDS": "1", "CUTOUT_BLOCK_BYTES": str(2**20),
        "CUTOUT_BLOCK_RETRIES": "8", "CUTOUT_MAX_ATTEMPTS": "30", "CUTOUT_MAX_QUEUED_PER_USER": str(jobs),
        "BOSS_PAGE_TIMEOUT": "10",
    }
    started = time.monotonic()
    stack = Stack(folder, env)
    say(f"make run up in {time.monotonic() - started:.0f} s ({folder})")
    report = {"submitted": 0, "done": 0, "failed": [], "lost": 0, "stuck": 0, "compared": 0, "corrupt": 0,
              "partial_files": 0, "kills": {k: 0 for k in KINDS}, "restarts": 0, "orphans": 0}
    try:
        stack.faults(delay_rate=1.0, delay_seconds=1.5)
        users = [Api(stack, "alice"), Api(stack, "bob")]
        submitted = []
        for i in range(jobs):
            api = users[i % 2]
            box = {**BOX, "x": [0, 512 * (1 + i % 2)], "z": [112, 112 + 16 * (1 + i % 3)]}
            fmt = "ome-zarr" if i % 3 == 2 else "tiff-zip" if i % 6 == 1 else "ome-tiff"
            channels = ["em"]
            if fmt == "ome-zarr":  # off the cuboid grid in y and z: chunks shared by blocks, merged in slots
                box = {**box, "y": [77, 1024], "z": [100, box["z"][1]]}
            if fmt == "tiff-zip":  # two channels' TIFFs written in place in one ZIP, uint64 labels the second
                box, channels = {**box, "x": [0, 512], "y": [0, 512], "z": [112, 128]}, ["em", "seg"]
            body = {"collection": "demo", "experiment": "cortex", "channels": channels, "resolution": 0,
                    "format": fmt, **box}
            response = api.call("POST", "/api/cutouts/", json=body)
            if response.status_code not in (201, 202):
                raise RuntimeError(f"submission refused: {response.status_code} {response.text[:300]}")
            submitted.append({"id": response.json()["id"], "api": api, "format": fmt, "channels": channels, **box})
        report["submitted"] = len(submitted)
        plan = [k for k in KINDS for _ in range(rounds)]
        rng.shuffle(plan)
        for kind in plan:
            time.sleep(rng.uniform(2, 6))
            pid = kill(stack, kind)
            if pid:
                report["kills"][kind] += 1
                say(f"  killed {kind} (pid {pid})")
            wait_up(stack)
        last_kill = time.monotonic()
        say(f"last kill at {last_kill - started:.0f} s")
        settle(submitted, report, last_kill)
        stack.faults(delay_rate=0.0)
        for job in submitted:
            check(job, report)
        time.sleep(float(env["CUTOUT_RECONCILE_SECONDS"]) * 2)  # a round of the sweeper after the last job
        report["partial_files"] = partial_files(folder / "portal" / "results")
        report["restarts"] = sum(c["restarts"] for c in stack.status()["children"].values())
        report["restarts_by_child"] = {n: c["restarts"] for n, c in stack.status()["children"].items()}
    finally:
        report["orphans"] = len(stack.stop())
    report["seconds"] = round(time.monotonic() - started)
    return report


def settle(submitted, report, last_kill, timeout=600):
    """Poll every job until it ends; a job with no progress for STUCK_SECONDS after the last kill is stuck."""
    seen = {}
    deadline = time.monotonic() + timeout
    pending = list(submitted)
    while pending and time.monotonic() < deadline:
        for job in list(pending):
            state = job["api"].call("GET", f"/api/cutouts/{job['id']}/").json()
            job["state"] = state
            mark = (state["state"], (state.get("progress") or {}).get("blocks_done"))
            if seen.get(job["id"], (None,))[0] != mark:
                seen[job["id"]] = (mark, time.monotonic())
            if state["state"] not in ("queued", "running", "needs_login"):
                pending.remove(job)
            elif time.monotonic() - max(seen[job["id"]][1], last_kill) > STUCK_SECONDS:
                job["stuck"] = True
        time.sleep(1)
    report["stuck"] = sum(1 for job in submitted if job.get("stuck"))
    # Runs that lost their worker and were taken over by another (each resumed from its finished blocks).
    report["runs_taken_over"] = sum(max(0, job.get("state", {}).get("attempts", 1) - 1) for job in submitted)
    report["lost"] = len(pending)


def check(job, report):
    state = job.get("state", {})
    if state.get("state") == "done":
        report["done"] += 1
        response = job["api"].call("GET", f"/api/cutouts/{job['id']}/download")
        path = Path(tempfile.mkstemp(suffix=".tif")[1])
        path.write_bytes(response.content)
        report["compared"] += 1
        try:
            if not matches(path, job):
                report["corrupt"] += 1
        except Exception:
            report["corrupt"] += 1
        finally:
            path.unlink()
    elif state.get("state") == "failed":
        report["failed"].append(state.get("error") or "(no reason given)")


def read_result(path, fmt):
    """The box as the result holds it; an OME-Zarr's level 1 must be every other voxel of it in y and x."""
    if fmt != "ome-zarr":
        return tifffile.imread(path)
    import zarr

    root = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r", zarr_format=2)
    level0 = root["0"][:]
    return level0 if np.array_equal(root["1"][:], level0[:, ::2, ::2]) else None


def partial_files(results):
    """Files of unfinished work left in the results volume: the scratch space, temporary files."""
    found = 0
    for root, _, names in os.walk(results):
        for name in names:
            if ".scratch" in Path(root).parts or name.endswith(".part") or name.endswith(".tmp"):
                found += 1
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="kills of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", help="keep make run's folder here (default: a new temporary one)")
    args = parser.parse_args(argv)
    report = run(args.jobs, args.rounds, args.seed, args.folder)
    print(json.dumps(report, indent=1))
    ok = (report["lost"] == report["stuck"] == report["corrupt"] == report["partial_files"] == report["orphans"] == 0
          and all(report["failed"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
