"""boss-cutout vs the fetch limit and a plain intern script, >= 2 GB: `python -m bench.cli_bench [--z 128]`.

Starts a devboss of its own (a seeded temporary database, gunicorn on a free port), then downloads the same
box of demo/large/em, each in a subprocess of its own, in the same run (alternating, `--repeat` times, the
order turned by one each round):
- the fetch limit: the command line's own blocks, reader and fetch loop with its 4 workers, nothing written,
  timed in its process (from its first request) and as a whole process (as boss-cutout is timed);
- `boss-cutout ... --format tiff-stack` (python -m cutouts.cli, default 4 workers, 16 MB blocks);
- the obvious script: intern's `get_cutout` (its default parallel mode) and `tifffile.imwrite` of the array;
- the disk limit: the box's bytes written into a new file where boss-cutout writes (O_DIRECT, 32 MiB
  writes), then fsynced (the command line fsyncs its blocks before its manifest records them), nothing
  fetched.
Reports wall time, throughput (MB/s of uncompressed voxels, 1 MB = 10^6 bytes) and each child's peak RSS
(`os.wait4`'s rusage, which includes the child's own waited-for children such as intern's Pool workers).
"""
import argparse
import os
import shutil
import subprocess
import sys
import statistics
import tempfile
import time

from devboss import procs
from devboss.testing import start_devboss

MB = 1e6
# The fetch limit timed as boss-cutout is, from the start of its process to its end: Python's start and the
# imports (numpy, blosc, requests: ~0.7 s here) included. boss-cutout also imports tifffile (~0.2 s) and
# asks BOSS for the channel's metadata before its first block.
WHOLE = "fetch limit, whole process (start + imports)"

INTERN_SCRIPT = """
import sys, tifffile
from intern.remote.boss import BossRemote
host, out, x1, y1, z1 = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
rmt = BossRemote({"protocol": "http", "host": host, "token": "public"})
channel = rmt.get_channel("em", "demo", "large")
data = rmt.get_cutout(channel, 0, [0, x1], [0, y1], [0, z1])
tifffile.imwrite(out, data, photometric="minisblack", bigtiff=True)
"""


# Importing boss-cutout's modules (run() does) sets OPENBLAS_NUM_THREADS in this process (cutouts/cli/__init__.py);
# intern's script runs in the environment this bench started with, as a user's would.
BLAS_AT_START = os.environ.get("OPENBLAS_NUM_THREADS")


def measure(argv, env, as_started=False):
    """(seconds, peak RSS in MB) of a child process, which must succeed."""
    environ = procs.python_env(env)
    if as_started and BLAS_AT_START is None:
        environ.pop("OPENBLAS_NUM_THREADS", None)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=environ, cwd=procs.REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def run(server, work, x1, y1, z1, repeat=5, formats=("tiff-stack", "ome-tiff"), compression="none", block_mb=None):
    """(a) the fetch limit (the command line's blocks and workers, nothing written) and boss-cutout in each
    format, alternating, `repeat` times; intern's script once (it is far behind). Medians."""
    from bench.children import run_child
    from cutouts.cli.args import DEFAULT_BLOCK_MB
    from cutouts.pipeline.writers.base import uncompressed
    from cutouts.pipeline.writers.stack import ROW_FACTOR

    nbytes = x1 * y1 * z1
    block_mb = block_mb or DEFAULT_BLOCK_MB
    runs = {"fetch limit (4 in flight, nothing written)": [], WHOLE: []}
    out = os.path.join(work, "cli")
    disk = "disk limit (write + fsync, nothing fetched)"
    runs[disk] = []
    runs.update({f"boss-cutout ({fmt}, 4 workers)": [] for fmt in formats})

    def fetch():
        start = time.perf_counter()
        r = run_child("fetch", {"boss_url": server.url, "token": "public", "scheme": "Token",
                                "box": {"x": (0, x1), "y": (0, y1), "z": (0, z1)},
                                "block_bytes": block_mb * 1024 * 1024, "concurrency": 4,
                                "row_factor": ROW_FACTOR if uncompressed(compression) else 2})
        runs["fetch limit (4 in flight, nothing written)"].append((r["seconds"], r["rss_self"] / 2**20))
        runs[WHOLE].append((time.perf_counter() - start, r["rss_self"] / 2**20))

    def write_only():
        os.makedirs(out, exist_ok=True)
        r = run_child("disk", {"folder": out, "nbytes": nbytes})
        runs[disk].append((r["seconds"], r["rss_self"] / 2**20))
        shutil.rmtree(out)

    def cutout(fmt):
        cli = [sys.executable, "-m", "cutouts.cli", "bossdb://demo/large/em", "-x", f"0:{x1}", "-y", f"0:{y1}",
               "-z", f"0:{z1}", "--out", out, "--boss-url", server.url, "--quiet", "--format", fmt,
               "--compression", compression, "--block-mb", str(block_mb)]
        runs[f"boss-cutout ({fmt}, 4 workers)"].append(measure(cli, {}))
        shutil.rmtree(out)

    # The order turns by one each round: on a disk with a write budget (a cloud VM's), a run that follows one
    # that wrote nothing finds the budget refilled, and the next one, in a fixed order, always found it spent.
    steps = [fetch, write_only] + [lambda fmt=fmt: cutout(fmt) for fmt in formats]
    for i in range(repeat):
        for step in steps[i % len(steps):] + steps[:i % len(steps)]:
            step()
    path = os.path.join(work, "intern.tif")
    script = [sys.executable, "-c", INTERN_SCRIPT, f"127.0.0.1:{server.port}", path, str(x1), str(y1), str(z1)]
    runs["intern get_cutout + tifffile.imwrite"] = [measure(script, {}, as_started=True)]
    os.unlink(path)
    rows = [(name, statistics.median(s for s, _ in r), max(m for _, m in r)) for name, r in runs.items()]
    return nbytes, rows


def print_table(nbytes, box, rows):
    print(f"box: demo/large/em x 0:{box[0]} y 0:{box[1]} z 0:{box[2]}, uint8, {nbytes / MB:.0f} MB")
    print(f"{'client':44} {'seconds':>8} {'MB/s':>8} {'/ limit':>8} {'peak RSS MB':>12}")
    limit = rows[0][1]
    disk = next((s for name, s, _ in rows if name.startswith("disk")), None)
    for name, seconds, rss in rows:
        print(f"{name:44} {seconds:8.1f} {nbytes / MB / seconds:8.1f} {limit / seconds:8.2f} {rss:12.0f}")
    whole = next(s for name, s, _ in rows if name == WHOLE)
    for name, seconds, _ in rows:
        if name.startswith("boss-cutout"):
            line = f"{name}: {limit / seconds:.2f} of the fetch limit, {whole / seconds:.2f} of it as a whole process"
            if disk:  # what any writer of these bytes can reach here: the slower of the fetch and the disk
                line += f", {max(limit, disk) / seconds:.2f} of min(fetch limit, disk limit)"
            print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--z", type=int, default=128, help="slices of the 4096x4096 box (128: 2.1 GB)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs of each (medians)")
    parser.add_argument("--compression", default="none", help="boss-cutout's --compression")
    parser.add_argument("--block-mb", type=int, help="the blocks' MB, for the fetch limit and boss-cutout alike "
                        "(4: blocks 2048 voxels wide, narrower than the box, so written in part rows, as a "
                        "uint8 box wider than 8192 voxels is at the default)")
    args = parser.parse_args()
    box = (4096, 4096, args.z)
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        os.makedirs(os.path.join(tmp, "devboss"))
        server = start_devboss(os.path.join(tmp, "devboss"))
        try:
            nbytes, rows = run(server, tmp, *box, repeat=args.repeat, compression=args.compression,
                               block_mb=args.block_mb)
        finally:
            procs.stop(server.proc)
    print_table(nbytes, box, rows)


if __name__ == "__main__":
    main()
