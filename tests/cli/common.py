"""Run boss-cutout as a subprocess against the session's devboss, and read back what it wrote."""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

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
