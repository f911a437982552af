"""The OME-Zarr view against the fetch limit: `python -m bench.zarr_bench [--repeat 5] [--threads 8]`.

A 268 MB box of the public demo/large/em (x 0:4096, y 0:4096, z 0:16 at level 0: 64 chunks, each one BOSS
cuboid of 512 x 512 x 16), three ways, alternating, each `--repeat` times (medians):

  (a) fetch limit: the same 64 cuboids straight from BOSS, read by the bossdb client in `--threads` threads
      (as the portal reads them: blosc over HTTP, decoded), nothing written;
  (z) cold: zarr-python opens the portal's public Zarr URL (fsspec's HTTP store) and reads the box through
      `--threads` threads, one chunk each at a time, with the portal's chunk cache emptied first;
  (w) warm: the same read again, every chunk in the portal's cache (no BOSS request).

The bench starts its own devboss and the portal under gunicorn (2 workers x 8 threads, SQLite, a chunk
cache folder of its own) on loopback, and removes them at the end. Aims (issue #17): z/a >= 0.6, w/a >= 2.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from devboss import procs
from devboss.testing import start_devboss

MB = 1e6
BOX = {"x": (0, 4096), "y": (0, 4096), "z": (0, 16)}
CHUNK = (16, 512, 512)


def chunks():
    return [(z, y, x) for z in range(*BOX["z"], CHUNK[0]) for y in range(*BOX["y"], CHUNK[1])
            for x in range(*BOX["x"], CHUNK[2])]


def fetch_limit(boss_url, threads):
    from bossdb import Credential, Session, read_cutout

    session = Session(boss_url, Credential("Token", "public"))

    def one(corner):
        z, y, x = corner
        return read_cutout(session, "demo", "large", "em", "uint8", 0, (x, x + CHUNK[2]), (y, y + CHUNK[1]),
                           (z, z + CHUNK[0])).nbytes

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(one, chunks()))
    return total, time.perf_counter() - start


def zarr_read(url, threads):
    import zarr

    image = zarr.open_group(url, mode="r")["0"]

    def one(corner):
        z, y, x = corner
        return np.asarray(image[z:z + CHUNK[0], y:y + CHUNK[1], x:x + CHUNK[2]]).nbytes

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(one, chunks()))
    return total, time.perf_counter() - start


def start_portal(root, boss_url, extra_env=None, workers=2, threads=8):
    env = {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_DEV": "1", "PORTAL_VAR_DIR": str(root / "portal"),
        "DATABASE_URL": f"sqlite:///{root / 'portal.sqlite3'}", "BOSS_URL": boss_url, "BOSS_PUBLIC_URL": boss_url,
        "OIDC_SERVER_URL": f"{boss_url}/auth/realms/BOSS", "ZARR_CACHE_DIR": str(root / "zarr-cache"),
        "LOG_LEVEL": "WARNING", **(extra_env or {}),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=procs.python_env(env),
                   cwd=procs.REPO, check=True)
    port = procs.free_port()
    proc = procs.start_gunicorn("portal.wsgi:application", port, env, workers=workers, threads=threads,
                                log=open(root / "portal.log", "ab"))
    procs.wait_for_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
    return proc, f"http://127.0.0.1:{port}", root / "zarr-cache"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="zarr-bench-"))
    portal = None
    devboss = start_devboss(root / "devboss")
    try:
        portal, site, cache_dir = start_portal(root, devboss.url)
        url = f"{site}/zarr/public/demo/large/em.ome.zarr/"
        want = None
        runs = {"a": [], "z": [], "w": []}
        zarr_read(url, args.threads)  # warm up the processes (imports, connections), not the chunks
        for _ in range(args.repeat):
            nbytes, seconds = fetch_limit(devboss.url, args.threads)
            runs["a"].append(nbytes / seconds / MB)
            shutil.rmtree(cache_dir, ignore_errors=True)
            got, seconds = zarr_read(url, args.threads)
            runs["z"].append(got / seconds / MB)
            got, seconds = zarr_read(url, args.threads)
            runs["w"].append(got / seconds / MB)
            want = nbytes
            assert got == want, (got, want)
        med = {k: statistics.median(v) for k, v in runs.items()}
        result = {"box_mb": round(want / MB), "threads": args.threads, "repeat": args.repeat,
                  "fetch_limit_mb_s": round(med["a"]), "zarr_cold_mb_s": round(med["z"]),
                  "zarr_warm_mb_s": round(med["w"]), "cold_over_limit": round(med["z"] / med["a"], 2),
                  "warm_over_limit": round(med["w"] / med["a"], 2),
                  "runs": {k: [round(x) for x in v] for k, v in runs.items()}}
        print(json.dumps(result, indent=1))
        print(f"fetch limit {med['a']:.0f} MB/s; Zarr view cold {med['z']:.0f} MB/s "
              f"({med['z'] / med['a']:.2f} of it), warm {med['w']:.0f} MB/s ({med['w'] / med['a']:.2f} of it)")
    finally:
        procs.stop(portal)
        procs.stop(devboss.proc)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
