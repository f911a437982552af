"""Run boss-cutout against the session's devboss, and read back what it wrote.

run_cli and start_cli run it as a subprocess (`python -m cutouts.cli`, without Django settings), as a user
would: for what the process itself does (its output on a terminal-less stderr, Ctrl-C, SIGTERM, a kill).
run_in_process calls `cutouts.cli.main` in the test process, with the same arguments and environment, for runs
judged by their exit code, messages and files (bad arguments, metadata and folder errors, --dry-run, --help,
downloads that finish, reruns that resume what a killed process left): the same code, without a Python
start-up each."""
import glob
import io
import json
import os
import signal
import subprocess
import sys
import threading
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import numpy as np
import requests
import tifffile

from devboss import procs

MANIFEST = ".boss-cutout.jsonl"


def cli_env(devboss, token=None, extra=None):
    env = procs.python_env({"BOSS_URL": devboss.url, "BOSS_CUTOUT_BACKOFF": "0.01", **(extra or {})})
    env.pop("BOSS_TOKEN", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the command line must not need Django settings
    if token:
        env["BOSS_TOKEN"] = token
    return env


def command(*args):
    return [sys.executable, "-m", "cutouts.cli", *[str(a) for a in args]]


def run_cli(devboss, *args, token=None, env=None, timeout=240):
    """(returncode, stdout, stderr) of `python -m cutouts.cli <args>`."""
    proc = subprocess.run(command(*args), env=cli_env(devboss, token, env), cwd=procs.REPO, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def run_in_process(devboss, *args, token=None, env=None):
    """(exit code, stdout, stderr) of `cutouts.cli.main(args)` in this process, with the environment run_cli
    gives the subprocess. A run must leave no thread behind (a download's fetch threads end with it; a
    failed one's may still be fetching, which only a subprocess's exit stops: use run_cli for those)."""
    from cutouts import cli

    # COLUMNS: argparse wraps --help to the terminal's width, and the subprocess has none (80 columns)
    environ = {"BOSS_URL": devboss.url, "BOSS_CUTOUT_BACKOFF": "0.01", "COLUMNS": os.environ.get("COLUMNS", "80"),
               **(env or {})}
    out, err = io.StringIO(), io.StringIO()
    threads = set(threading.enumerate())
    sigterm = signal.getsignal(signal.SIGTERM)  # main() installs its own
    try:
        with mock.patch.dict(os.environ, environ), redirect_stdout(out), redirect_stderr(err):
            os.environ.pop("BOSS_TOKEN", None)
            if token:
                os.environ["BOSS_TOKEN"] = token
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:  # argparse: usage errors and --help
                code = exc.code
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    # tqdm's monitor thread is made once per process, on the first progress bar, and stays: not a leftover
    left = [t for t in threading.enumerate() if t not in threads and t.name != "tqdm_monitor"]
    for thread in left:
        thread.join(5)  # a finished download's fetch threads are returning
    left = [t for t in left if t.is_alive()]
    assert not left, f"boss-cutout {args} left threads running {left}: run it with run_cli (a subprocess)"
    return code, out.getvalue(), err.getvalue()


def start_cli(devboss, *args, token=None, env=None):
    return subprocess.Popen(command(*args), env=cli_env(devboss, token, env), cwd=procs.REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_stack(folder, channel):
    files = sorted(glob.glob(os.path.join(folder, f"{channel}_z*.tif")))
    return np.stack([tifffile.imread(f) for f in files]), [os.path.basename(f) for f in files]


def manifest_entries(folder):
    """(channel, block) of every finished block in the manifest, in order."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "block" in entry:
            out.append((entry.get("channel"), entry["block"]))
    return out


def manifest_blocks(folder):
    """The finished blocks' ids, in order, whatever their channel."""
    return [block for _, block in manifest_entries(folder)]


def admin(devboss):
    return {"Authorization": f"Token {devboss.token('admin')}"}


def cutouts_served(devboss, key):
    return requests.get(f"{devboss.url}/devboss/stats", timeout=10).json()["cutouts"].get(key, 0)


def reset_stats(devboss):
    requests.delete(f"{devboss.url}/devboss/stats", headers=admin(devboss), timeout=10).raise_for_status()


def set_faults(devboss, **values):
    requests.post(f"{devboss.url}/devboss/faults", json=values, headers=admin(devboss),
                  timeout=10).raise_for_status()


def reset_faults(devboss):
    requests.delete(f"{devboss.url}/devboss/faults", headers=admin(devboss), timeout=10).raise_for_status()
