"""Browse pages under load against a trivial view of the same server: `python -m bench.pages_bench`.

The portal under gunicorn (as in production: `--workers`, 3, with 1 thread each, and a Redis cache shared by
them, as `make run` and docker-compose set it) in front of a devboss of its own, on loopback. 32 clients
(threads with a requests session each, anonymous visitors) fetch one URL as fast as it answers for
`--seconds` (5); the URLs take turns, `--repeat` (5) rounds, medians per URL:

  /livez                     the trivial view (the process answers; no database, cache or BOSS)
  /c/demo/                   a collection page
  /c/demo/cortex/            an experiment page (frame, levels, channels, viewer and Zarr links)
  /api/collections/          the collections API

Reports requests/s, the ratio to /livez's in the same run (aim >= 0.5) and the p50/p95 latency. The BOSS
metadata behind the pages is cached (BOSS_CACHE_SECONDS), as it is for a visitor's second page: the bench
measures the portal, not devboss.
"""
import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.zarr_bench import start_portal
from devboss import procs
from devboss.testing import start_devboss

URLS = ["/livez", "/c/demo/", "/c/demo/cortex/", "/api/collections/"]


def hammer(base, path, clients, seconds):
    latencies, errors, stop = [], [], time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        session = requests.Session()
        mine, bad = [], 0
        while time.monotonic() < stop:
            start = time.perf_counter()
            response = session.get(base + path, timeout=60)
            mine.append(time.perf_counter() - start)
            bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2],
            "p95": latencies[int(len(latencies) * 0.95)], "errors": sum(errors)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pages-bench-") as tmp:
        root = Path(tmp)
        devboss = start_devboss(root / "devboss")
        redis_port = procs.free_port()
        redis = procs.start_redis(redis_port, root / "redis")
        portal = None
        try:
            redis_url = f"redis://127.0.0.1:{redis_port}"
            portal, site, _ = start_portal(root, devboss.url, {
                "REDIS_URL": f"{redis_url}/0", "CELERY_BROKER_URL": f"{redis_url}/0", "CACHE_URL": f"{redis_url}/1",
            }, workers=args.workers, threads=1)
            for path in URLS:  # warm: imports, connections, BOSS metadata in the cache
                for _ in range(3):
                    requests.get(site + path, timeout=60).raise_for_status()
            runs = {path: [] for path in URLS}
            for _ in range(args.repeat):
                for path in URLS:
                    runs[path].append(hammer(site, path, args.clients, args.seconds))
        finally:
            procs.stop(portal)
            procs.stop(redis)
            procs.stop(devboss.proc)
    med = {p: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p95")} for p, rs in runs.items()}
    base = med["/livez"]["rps"]
    print(f"{args.clients} clients, gunicorn {args.workers} workers x 1 thread, {args.seconds:.0f} s per URL, "
          f"medians of {args.repeat} rounds")
    print(f"{'URL':22} {'req/s':>8} {'/ livez':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for path in URLS:
        m = med[path]
        errors = sum(r["errors"] for r in runs[path])
        print(f"{path:22} {m['rps']:8.0f} {m['rps'] / base:8.2f} {m['p50'] * 1000:8.0f} {m['p95'] * 1000:8.0f} "
              f"{errors:7d}")


if __name__ == "__main__":
    main()
