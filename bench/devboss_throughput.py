"""devboss cutout throughput: `python -m bench.devboss_throughput [--repeats N]`.

Starts a devboss of its own (a seeded temporary database, gunicorn on a free port), then times raw
`requests` GETs with `Accept: application/blosc`, decoded with blosc as intern does:
a 512x512x16 uint8 cuboid many times (one gunicorn request each), and one ~500 MB uint8 cutout of
demo/large/em. MB/s counts uncompressed voxel bytes (what the client gets after decoding).
"""
import argparse
import tempfile
import time

import blosc
import numpy as np
import requests

from devboss import procs
from devboss.testing import start_devboss

MB = 1e6


def fetch(session, url, shape):
    response = session.get(url, headers={"Accept": "application/blosc"}, timeout=300)
    response.raise_for_status()
    arr = np.frombuffer(blosc.decompress(response.content), np.uint8).reshape(shape)
    return arr, len(response.content)


def run(base, repeats):
    rows = []
    session = requests.Session()
    cuboid = (16, 512, 512)
    url = f"{base}/v1/cutout/demo/cortex/em/0/512:1024/512:1024/112:128/"
    fetch(session, url, cuboid)  # warm up (worker imports, DB connection)
    start, wire = time.perf_counter(), 0
    for _ in range(repeats):
        arr, n = fetch(session, url, cuboid)
        wire += n
    elapsed = time.perf_counter() - start
    rows.append(("512x512x16 uint8 cuboid", repeats, arr.nbytes * repeats / MB, wire / MB, elapsed))

    big = (120, 2048, 2048)  # 503 MB, under BOSS's 520 MiB cap
    url = f"{base}/v1/cutout/demo/large/em/0/0:2048/0:2048/0:120/"
    start = time.perf_counter()
    arr, n = fetch(session, url, big)
    elapsed = time.perf_counter() - start
    rows.append(("2048x2048x120 uint8 (~500 MB)", 1, arr.nbytes / MB, n / MB, elapsed))
    return rows


def print_table(rows):
    print(f"{'request':32} {'n':>5} {'MB (raw)':>10} {'MB (wire)':>10} {'seconds':>8} {'MB/s':>8} {'ms/req':>8}")
    for name, n, raw, wire, seconds in rows:
        print(f"{name:32} {n:5d} {raw:10.1f} {wire:10.1f} {seconds:8.2f} {raw / seconds:8.1f} {seconds / n * 1000:8.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devboss-bench-") as tmp:
        server = start_devboss(tmp)
        try:
            print_table(run(server.url, args.repeats))
        finally:
            procs.stop(server.proc)


if __name__ == "__main__":
    main()
