"""Cutout job throughput against its limits: `python -m bench.cutout_bench [--z 64]`.

One ~1 GB uint8 box of demo/large/em (x 0:4096, y 0:4096, z 0:64 at level 0; or `--channel` and `--box`, e.g.
`--channel demo/cortex/seg --box 0:1024,0:1024,100:212` for uint64 labels), three ways:

  (a) fetch limit: the job's blocks, reader (bossdb) and concurrency over HTTP, decoded and thrown away;
  (b) plain script: intern's get_cutout of the whole box with parallel=False + tifffile.imwrite (intern 1.4.2
      splits it into 512x512x192 requests one after another; RUSAGE_CHILDREN reports any pool's largest worker);
  (c) the portal job: validate + submit to a real prefork Celery worker, timed from submit to done;
  (d) disk limit: the box's bytes written into a new file beside the job's results (O_DIRECT, 32 MiB
      writes) and fsynced, nothing else: a job whose result is as large as the box can't be faster than
      this on this machine.

Each of (a), (b) and (d) runs in a subprocess of its own (bench/children.py), so its peak RSS is its
own; (c) reports the peak (VmHWM) of the worker's child process, the one that runs the job. The bench
starts its own devboss, Redis, temporary SQLite database and worker, and removes them at the end.

CPUs (`--cores`, both by default, one after the other in the same run):
  split   devboss on the last CPU, the client ((a)'s and (b)'s process, the worker) on the others: BOSS
          is another machine in production, and here its capacity is then the same for (a), (b) and (c);
  shared  everything on all CPUs: devboss serves faster when the client does less, which flatters (a),
          the client that only throws the data away.
"""
import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from math import prod
from pathlib import Path

from bench.children import CHANNEL, demo_channel, parse_box, run_child
from bossdb.geometry import DTYPE_BYTES

MB = 1e6
BOX = {"x": (0, 4096), "y": (0, 4096), "z": (0, 64)}

# ---- (c): the portal job, in this process's Django against a worker of our own ----

def setup_django(tmp, devboss, redis_url, max_bytes):
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DEV": "1",
        "PORTAL_VAR_DIR": str(tmp / "portal"),
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite3'}",
        "BOSS_URL": devboss.url,
        "OIDC_SERVER_URL": f"{devboss.url}/auth/realms/BOSS",
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "CUTOUT_RESULTS_DIR": str(tmp / "results"),
        "CUTOUT_MAX_BYTES": str(max_bytes),
        "CUTOUT_MAX_RESULT_BYTES_PER_USER": str(10**15),  # ten runs keep ten ~1 GB results
        "LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def cpu_seconds(proc):
    """user + system CPU seconds of a process and all its descendants (alive now)."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def pin(proc, cpus):
    """Set the CPU affinity of every thread of `proc` and of its descendants (threads they start later
    inherit it)."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
        pids = [root.pid] + [p.pid for p in root.children(recursive=True)]
    except psutil.Error:
        return
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
            with contextlib.suppress(OSError):  # gone meanwhile
                os.sched_setaffinity(int(tid), cpus)


def rss_parts(pid):
    """{"RssAnon", "RssFile", "RssShmem", "VmRSS", "VmHWM"} in bytes: what the resident memory is made of, and
    its peak."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


class PeakWatcher:
    """Samples the peak RSS (VmHWM) of every child of the worker while a job runs: the child that runs
    the job may be replaced by the pool, so it is watched rather than read once at the end."""

    def __init__(self, worker):
        import threading

        self.worker, self.peaks, self.stop = worker, {}, threading.Event()
        self.largest = {}  # rss_parts() of the sample with the largest VmRSS
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        while not self.stop.is_set():
            try:
                pids = [p.pid for p in psutil.Process(self.worker.pid).children(recursive=True)]
            except psutil.Error:
                pids = []
            for pid in pids:
                parts = rss_parts(pid)
                self.peaks[pid] = max(self.peaks.get(pid, 0), parts.get("VmHWM", 0))
                if parts.get("VmRSS", 0) > self.largest.get("VmRSS", 0):
                    self.largest = parts
            self.stop.wait(0.1)

    def __enter__(self):
        import psutil

        # Each job's own peak: a pool child runs job after job, and its VmHWM would otherwise keep the
        # largest of them all (the worst run is reported all the same). Writing 5 to clear_refs resets it.
        for child in psutil.Process(self.worker.pid).children(recursive=True):
            with contextlib.suppress(OSError), open(f"/proc/{child.pid}/clear_refs", "w") as f:
                f.write("5")
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def peak(self):
        return max(self.peaks.values(), default=0)


def run_job(alice, box, fmt="ome-tiff", compression="none", channel=CHANNEL):
    from cutouts import service
    from cutouts.validation import validate

    coll, exp, ch, _ = channel
    request = {"collection": coll, "experiment": exp, "channels": [ch], "resolution": 0,
               "x": list(box["x"]), "y": list(box["y"]), "z": list(box["z"]), "format": fmt,
               "compression": compression}
    start = time.perf_counter()
    cpu0 = time.process_time()
    job = validate(alice, request)
    marks = {"validated": time.perf_counter() - start}  # then when this poll first saw the job running,
    job = service.submit(job)                            # its first block, its last block
    marks["queued"] = time.perf_counter() - start
    # Polled every 10 ms (so that "done" is seen within 10 ms) by one plain SELECT: the ORM's refresh took
    # ~0.3 CPU s per job here, taken from devboss and the worker when they share the CPUs.
    from django.db import connection

    table = type(job)._meta.db_table
    key = type(job)._meta.pk.get_db_prep_value(job.pk, connection)
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT state, blocks_done, blocks_total FROM {table} WHERE id = %s", [key])
            state, done, total = cursor.fetchone()
            now = time.perf_counter() - start
            if state == "running":
                marks.setdefault("running", now)
            if done:
                marks.setdefault("first block", now)
            if total and done == total:
                marks.setdefault("last block", now)
            if state in ("done", "failed", "cancelled"):
                break
            time.sleep(0.01)
    job.refresh_from_db()
    seconds = time.perf_counter() - start
    print("(c) seen at: " + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()) + f", done {seconds:.2f} s"
          f" (this process: {time.process_time() - cpu0:.2f} CPU s)")
    if job.state != "done":
        raise RuntimeError(f"the job ended {job.state}: {job.error}")
    return {"seconds": seconds, "bytes": job.nbytes, "blocks": job.blocks_total, "file": job.result_size,
            "path": str(job.result_path)}


def median(runs):
    """The run with the median time (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2] if runs else None


def report(a, b, c, c_rss, label="", d=None, parts=None, pairs=()):
    if label:
        print(f"\n== {label}")

    def row(name, r, rss):
        print(f"{name:44} {r['bytes'] / MB:9.1f} {r['seconds']:8.2f} {r['bytes'] / MB / r['seconds']:8.1f} "
              f"{rss / MB:9.0f} {r.get('cpu', 0):7.1f} {r.get('server_cpu', 0):7.1f}")

    print(f"{'':44} {'MB':>9} {'seconds':>8} {'MB/s':>8} {'peak MB':>9} {'CPU s':>7} {'BOSS s':>7}")
    row(f"(a) fetch limit ({a['blocks']} blocks, no writing)", a, a["rss_self"])
    row("(b) intern get_cutout + tifffile.imwrite", b, max(b["rss_self"], b["rss_children"]))
    if b["rss_children"]:
        print(f"{'':44}   (script process {b['rss_self'] / MB:.0f} MB, largest intern pool worker "
              f"{b['rss_children'] / MB:.0f} MB)")
    row(f"(c) portal job, submit to done ({c['blocks']} blocks)", c, c_rss)
    if parts:
        print(f"{'':44}   (at its largest: {parts.get('RssAnon', 0) / MB:.0f} MB anonymous, "
              f"{parts.get('RssFile', 0) / MB:.0f} MB file pages, {parts.get('RssShmem', 0) / MB:.0f} MB shared)")
    if d:
        row("(d) disk limit (write + fsync, no fetch)", d, 0)
    if c.get("file"):
        print(f"{'':44}   (its file: {c['file'] / MB:.1f} MB, {c['file'] / c['bytes']:.3f} of the box's bytes)")
    rate = {k: r["bytes"] / r["seconds"] for k, r in (("a", a), ("b", b), ("c", c))}
    print("CPU s: client CPU time (the worker child for (c)); BOSS s: devboss CPU time meanwhile; "
          f"{os.cpu_count()} CPUs, shared with whatever else runs")
    print(f"c/a = {rate['c'] / rate['a']:.2f}   c/b = {rate['c'] / rate['b']:.2f}   "
          f"(target c/a >= 0.85, worker peak <= 256 MB)")
    if pairs:
        # Each (c) against the (a) run just before it: the machine's speed drifts between runs (here (a) alone
        # swings by a third), and a pair sees one speed. Their median next to the ratio of the medians above.
        ratios = sorted(pa["seconds"] / pc["seconds"] for pa, pc in pairs)
        print(f"c/a per pair of runs: median {statistics.median(ratios):.2f} "
              f"({', '.join(f'{r:.2f}' for r in ratios)})")
    if d:
        # What the machine lets any job reach: the slower of the fetch and, for a file as large as the box, the disk.
        d_mbs = d["bytes"] / MB / d["seconds"]
        if not c["bytes"]:  # (c) skipped
            print(f"d = {d_mbs:.0f} MB/s")
            return
        d_rate = d_mbs * MB * c["bytes"] / max(c.get("file") or c["bytes"], 1)
        print(f"d = {d_mbs:.0f} MB/s; c / min(a, d scaled to the file's size) = {rate['c'] / min(rate['a'], d_rate):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--z", type=int, default=64, help="depth of the box (64: ~1.07 GB)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy record the worker during (c) into FILE (raw)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip (a, b, c, d)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (c) each, alternating (medians)")
    parser.add_argument("--cores", default="split,shared", help="CPU layouts to measure, in order (see above)")
    parser.add_argument("--format", default="ome-tiff", help="the job's format (ome-tiff, ome-zarr, ...)")
    parser.add_argument("--compression", default="none", help="the job's compression (none, lz4, zstd, deflate)")
    parser.add_argument("--channel", default="/".join(CHANNEL[:3]), help="a devboss demo channel (demo/large/em)")
    parser.add_argument("--box", help="x0:x1,y0:y1,z0:z1 at level 0 instead of 0:4096,0:4096,0:Z")
    parser.add_argument("--boss-clevel", type=int, default=9, help="devboss's blosc level (0: answers of real-EM size)")
    args = parser.parse_args()

    from devboss import procs
    from devboss.testing import start_devboss

    channel = demo_channel(args.channel)
    box = parse_box(args.box) if args.box else {**BOX, "z": (0, args.z)}
    nbytes = prod(hi - lo for lo, hi in box.values()) * DTYPE_BYTES[channel[3]]
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="cutout-bench-") as tmp:
        tmp = Path(tmp)
        devboss = start_devboss(tmp / "devboss", {"DEVBOSS_BLOSC_CLEVEL": str(args.boss_clevel)})
        port = procs.free_port()
        redis = procs.start_redis(port, tmp / "redis")
        redis_url = f"redis://127.0.0.1:{port}/0"
        worker = None
        try:
            setup_django(tmp, devboss, redis_url, max(2 * nbytes, 2 * 10**9))
            from django.conf import settings
            from django.contrib.auth import get_user_model
            from django.core.cache import cache
            from django.db import connection

            from cutouts.pipeline.plan import Box, whole_rows
            from cutouts.pipeline.writers import block_buffers
            from devboss.testing import login_token, start_worker, worker_env

            alice = get_user_model().objects.create_user("alice", email="alice@example.org")
            token = login_token(alice, devboss, "alice").token
            rows = whole_rows(Box(box["x"], box["y"], box["z"]), channel[3], settings.CUTOUT_BLOCK_BYTES)
            # The worker runs with the portal's own defaults for block size and concurrency.
            env = worker_env(connection.settings_dict, devboss, redis_url, {
                "CUTOUT_BLOCK_BYTES": str(settings.CUTOUT_BLOCK_BYTES),
                "CUTOUT_FETCH_CONCURRENCY": str(settings.CUTOUT_FETCH_CONCURRENCY),
                "CUTOUT_RETRY_BACKOFF": str(settings.CUTOUT_RETRY_BACKOFF),
                "CUTOUT_MAX_BYTES": str(settings.CUTOUT_MAX_BYTES),
            })
            worker = start_worker(env, tmp / "worker.log")
            deadline = time.monotonic() + 120
            while b" ready." not in (tmp / "worker.log").read_bytes():  # don't time the worker's start
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp / "worker.log").read_text()[-3000:])
                time.sleep(0.2)
            print(f"box x {box['x']}, y {box['y']}, z {box['z']} of {args.channel}: {nbytes / MB:.0f} MB; "
                  f"blocks of {settings.CUTOUT_BLOCK_BYTES / 2**20:.0f} MiB, {settings.CUTOUT_FETCH_CONCURRENCY} "
                  f"in flight; devboss's blosc level {args.boss_clevel}", flush=True)
            all_cpus = sorted(os.sched_getaffinity(0))
            layouts = {"split": (all_cpus[:-1], all_cpus[-1:]), "shared": (all_cpus, all_cpus)}
            for layout in args.cores.split(","):
                client_cpus, server_cpus = layouts[layout] if len(all_cpus) > 1 else (all_cpus, all_cpus)
                pin(devboss.proc, server_cpus)
                pin(worker, client_cpus)
                print(f"\n-- {layout}: devboss on CPU {server_cpus}, client on CPU {client_cpus}", flush=True)
                empty = {"seconds": float("nan"), "bytes": 0, "blocks": 0, "rss_self": 0, "rss_children": 0}

                def measure_a():
                    before = cpu_seconds(devboss.proc)
                    r = run_child("fetch", {"boss_url": devboss.url, "token": token, "box": box, "channel": channel,
                                            "block_bytes": settings.CUTOUT_BLOCK_BYTES,
                                            "concurrency": settings.CUTOUT_FETCH_CONCURRENCY,
                                            "buffers": block_buffers(args.format, args.compression, rows),
                                            "cpus": client_cpus})
                    r["server_cpu"] = cpu_seconds(devboss.proc) - before
                    print(f"(a) done in {r['seconds']:.2f} s (first block {r['first_block']:.2f} s)", flush=True)
                    return r

                def measure_b():
                    before = cpu_seconds(devboss.proc)
                    r = run_child("script", {"boss_url": devboss.url, "token": devboss.token("alice"), "box": box,
                                             "channel": channel,
                                             "out": str(tmp / "script.tif"), "cpus": client_cpus})
                    r["server_cpu"] = cpu_seconds(devboss.proc) - before
                    os.unlink(tmp / "script.tif")
                    print(f"(b) done in {r['seconds']:.2f} s", flush=True)
                    return r

                def measure_c():
                    cache.clear()  # validation asks BOSS again, as for a form left open longer than the cache
                    spy = None
                    if args.profile:
                        import psutil

                        while not psutil.Process(worker.pid).children():
                            time.sleep(0.2)
                        pid = psutil.Process(worker.pid).children()[0].pid
                        spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "200", "--format",
                                                "raw", "--threads", "-o", args.profile], stdout=subprocess.DEVNULL)
                        time.sleep(1)
                    before, worker_before = cpu_seconds(devboss.proc), cpu_seconds(worker)
                    with PeakWatcher(worker) as watcher:
                        try:
                            r = run_job(alice, box, args.format, args.compression, channel)
                        except RuntimeError:
                            print((tmp / "worker.log").read_text()[-3000:])
                            raise
                    r["rss"] = watcher.peak
                    r["rss_parts"] = watcher.largest
                    r["server_cpu"] = cpu_seconds(devboss.proc) - before
                    r["cpu"] = cpu_seconds(worker) - worker_before
                    if spy:
                        spy.send_signal(2)
                        spy.wait(30)
                    os.unlink(r["path"])
                    return r

                def measure_d():
                    r = run_child("disk", {"folder": str(tmp / "results"), "nbytes": nbytes, "cpus": client_cpus})
                    print(f"(d) done in {r['seconds']:.2f} s", flush=True)
                    return r

                # (b) once (it is far behind); (a), (c) and (d) alternately, `--repeat` times, medians reported. The
                # order turns by one each round: on a disk with a write budget (a cloud VM's), the run after (a),
                # which writes nothing, finds the budget refilled, and in a fixed order it was always (c).
                b = measure_b() if "b" not in skip else empty
                (tmp / "results").mkdir(exist_ok=True)
                measures, runs = {"a": measure_a, "c": measure_c, "d": measure_d}, {"a": [], "c": [], "d": []}
                steps = [k for k in measures if k not in skip]
                for i in range(args.repeat):
                    for k in steps[i % len(steps):] + steps[:i % len(steps)]:
                        runs[k].append(measures[k]())
                a, c = median(runs["a"]) or empty, median(runs["c"]) or empty
                spread = {k: [round(r["seconds"], 2) for r in done] for k, done in runs.items()}
                worst = max(runs["c"], key=lambda r: r["rss"], default={})
                report(a, b, c, worst.get("rss", 0), d=median(runs["d"]), parts=worst.get("rss_parts"),
                       pairs=list(zip(runs["a"], runs["c"])),
                       label=f"{layout}, {args.format}, compression {args.compression}: devboss on CPU "
                             f"{server_cpus}, client on CPU {client_cpus}; medians of {args.repeat} (seconds: "
                             f"a {spread['a']}, c {spread['c']}, d {spread['d']})")
        finally:
            procs.stop(worker)
            procs.stop(redis)
            procs.stop(devboss.proc)


if __name__ == "__main__":
    main()
