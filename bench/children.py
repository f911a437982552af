"""The benches' measurements that run in a process of their own, so that each peak RSS is its own:
`python -m bench.children fetch|script|disk '<json args>'` prints one JSON line (bench.cutout_bench,
bench.cli_bench call `run_child`).

  fetch   the fetch limit: the job's blocks, reader and fetch loop, nothing written;
  script  what a user would write: intern's get_cutout of the whole box, then tifffile.imwrite;
  disk    the disk limit: the box's bytes written into a new file (O_DIRECT) and fsynced, nothing fetched.
"""
import json
import os
import resource
import subprocess
import sys
import time

CHANNEL = ("demo", "large", "em", "uint8")


def demo_channel(path):
    """(collection, experiment, channel, datatype) of a devboss demo channel "collection/experiment/channel"."""
    from devboss.demo import COLLECTIONS

    coll, exp, ch = path.split("/")
    for c in COLLECTIONS:
        for e in c["experiments"] if c["name"] == coll else ():
            for channel in e["channels"] if e["name"] == exp else ():
                if channel["name"] == ch:
                    return coll, exp, ch, channel["datatype"]
    raise SystemExit(f"no demo channel {path}")


def parse_box(text):
    """{"x": (x0, x1), "y": ..., "z": ...} from "x0:x1,y0:y1,z0:z1"."""
    ranges = [tuple(int(v) for v in part.split(":")) for part in text.split(",")]
    return dict(zip("xyz", ranges))


def child_fetch(boss_url, token, box, block_bytes, concurrency, scheme="Bearer", buffers=2, row_factor=2,
                channel=CHANNEL):
    """The fetch limit: the job's blocks read by the job's own reader (bossdb, decoding into pooled buffers)
    and fetch loop, with the job's concurrency, nothing written. (Before 2026-12-02 this was requests +
    blosc.decompress, which the job's reader now beats: the limit stays the best read there is.)"""
    from bossdb import Credential, Session
    from cutouts.pipeline.fetch import BlockReader, Task, fetch_all
    from cutouts.pipeline.plan import Box, plan_blocks
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec

    coll, exp, ch, dtype = channel
    whole = Box(tuple(box["x"]), tuple(box["y"]), tuple(box["z"]))
    blocks = plan_blocks(whole, dtype, block_bytes, row_factor)
    spec = CutoutSpec(boss_url, coll, exp, (ChannelSpec(ch, dtype),), 0, whole)
    read = BlockReader(Session(boss_url, Credential(scheme, token)), spec, buffers=buffers)  # the job's buffers
    first = []
    start = time.perf_counter()
    fetch_all([Task(0, spec.channels[0], b) for b in blocks], read, lambda task, data: None, concurrency=concurrency,
              on_done=lambda batch: first.append(time.perf_counter() - start) if not first else None)
    return {"seconds": time.perf_counter() - start, "bytes": whole.nbytes(dtype), "blocks": len(blocks),
            "first_block": first[0]}


def child_script(boss_url, token, box, out, channel=CHANNEL):
    """What a user would write: intern get_cutout of the whole box, then one tifffile.imwrite."""
    import tifffile
    from intern.remote.boss import BossRemote
    from intern.resource.boss.resource import ChannelResource

    coll, exp, ch, dtype = channel
    host = boss_url.split("://", 1)[1]
    rmt = BossRemote({"protocol": "http", "host": host, "token": token})
    start = time.perf_counter()
    data = rmt.get_cutout(ChannelResource(ch, coll, exp, datatype=dtype), 0, list(box["x"]), list(box["y"]),
                          list(box["z"]), parallel=False)
    tifffile.imwrite(out, data, photometric="minisblack")
    return {"seconds": time.perf_counter() - start, "bytes": int(data.nbytes), "file": os.path.getsize(out)}


def child_disk(folder, nbytes, chunk=32 * 2**20):
    """The disk limit: the box's bytes written in 32 MiB writes into a new file where the job writes its
    result, then fsynced (a job's file is on disk before it is served). No fetching, no encoding. Written
    the fastest way the writers know: O_DIRECT from a page-aligned buffer (the OME-TIFF writer's way for
    whole-row blocks), through the page cache where the file system has no O_DIRECT. (Before 2026-12-03
    this went through the page cache, which here runs at ~300 MB/s against ~2 GB/s direct.)"""
    import mmap

    path = os.path.join(folder, "disk-limit.bin")
    buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT needs
    buf.write(os.urandom(chunk))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd, direct = os.open(path, flags | os.O_DIRECT, 0o600), True
    except (OSError, AttributeError):
        fd, direct = os.open(path, flags, 0o600), False
    start = time.perf_counter()
    try:
        whole = nbytes // chunk * chunk
        for offset in range(0, whole, chunk):
            os.pwrite(fd, buf, offset)
        if nbytes > whole:  # the tail, not a multiple of the block size: through the page cache
            tail = os.open(path, os.O_WRONLY)
            os.pwrite(tail, buf[:nbytes - whole], whole)
            os.fsync(tail)
            os.close(tail)
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    os.unlink(path)
    return {"seconds": seconds, "bytes": nbytes, "blocks": 0, "direct": direct}


def run_child(kind, args):
    """Run a child (fetch, script or disk) in a subprocess; its result, with its own peak RSS and its
    children's."""
    proc = subprocess.run([sys.executable, "-m", "bench.children", kind, json.dumps(args)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_main(kind, args):
    if kind != "script":  # the limits start as boss-cutout does (cutouts/cli/__init__.py), before numpy's import
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cpus = args.pop("cpus", None)
    if cpus:
        os.sched_setaffinity(0, cpus)
    result = {"fetch": child_fetch, "script": child_script, "disk": child_disk}[kind](**args)
    # ru_maxrss is in KiB on Linux. RUSAGE_CHILDREN: the largest of intern's pool workers (waited for).
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    result["rss_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["rss_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps(result))


if __name__ == "__main__":
    child_main(sys.argv[1], json.loads(sys.argv[2]))
