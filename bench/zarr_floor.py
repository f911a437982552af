"""What an OME-Zarr job can reach when devboss shares its CPUs: `python -m bench.zarr_floor`.

`bench.cutout_bench --cores shared` runs devboss and the worker on the same CPUs; there the job and the fetch
limit share the CPUs with devboss, and the job's extra CPU work lengthens it. This bench measures:

  W   the writer's required work, one thread, in this process: what any writer of the portal's OME-Zarr
      layout (cutouts/pipeline/writers/zarr.py) does beyond the fetch, with the portal's own primitives and
      nothing else (no files, no ZIP, no threads, no Python plumbing): each block's voxels copied into chunk
      order (BOSS answers in the box's C order, a chunk is a contiguous sub-box), level 1 (every 2nd voxel in
      y and x, `chunks.every_other`, as for the demo's anisotropic channels), each chunk of both levels encoded with the job's codec
      (`chunks.blosc_into`), and the CRC-32 a stored ZIP member needs;
  write  the CPU time of writing those bytes to a file as the job does (O_DIRECT, fsynced: bench.children's
      disk limit, less its run for one page);
  a   the fetch limit with the CPUs shared (bench.children's fetch: the job's blocks, reader and fetch loop,
      nothing written), its seconds, its own CPU seconds (less the child's start and imports, measured as
      a fetch of one cuboid: a worker has them behind it) and devboss's meanwhile.

The job needs at least a's CPU seconds (the same fetch and decoding, the same devboss answers) plus W and
the write, on the CPUs there are, so no job can finish sooner than (CPU a + BOSS a + W + write) / CPUs, and

    ceiling of c/a = a's seconds * CPUs / (CPU a + BOSS a + W + write)

(above 1 where the fetch limit left CPU time idle that the job could use). The job also runs Celery, its
Python and the kernel's side of its writes, and reports progress, so it stays below this. The demo data are procedural: lz4 and zstd encode them
at the speeds `bench.compression_bench` reports for the demo channels.
"""
import argparse
import os
import statistics
import tempfile
import time
from math import prod
from pathlib import Path

import numpy as np

from bench.children import CHANNEL, demo_channel, parse_box, run_child

MB = 1e6
CUBOID_XYZ = (512, 512, 16)


def tiles(shape, chunk):
    """The slices of `shape` cut into `chunk`-shaped tiles from its first voxel (the last ones partial)."""
    starts = np.stack(np.meshgrid(*(range(0, n, c) for n, c in zip(shape, chunk)), indexing="ij"), -1)
    for start in starts.reshape(-1, len(shape)):
        yield tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, chunk, shape))


def writer_work(channel, box, compression, block_bytes, read=None):
    """CPU seconds (one thread) of the writer's required work for the box, and the bytes it would write.
    `read(block)`: the block's voxels, where the caller holds them already; else devboss's procedural data."""
    from cutouts.pipeline.plan import Box, plan_blocks
    from cutouts.pipeline.writers.chunks import blosc_into, every_other
    from cutouts.pipeline.writers.zarr import blosc_codec, chunk_zyx
    from cutouts.pipeline.writers.zipstream import crc32
    from devboss.api.procedural import cutout

    coll, exp, ch, dtype = channel
    whole = Box(box["x"], box["y"], box["z"])
    codec = blosc_codec(compression, np.dtype(dtype)) if compression != "none" else None
    origin = (box["z"][0], box["y"][0], box["x"][0])
    chunks = {level: chunk_zyx(origin, level) for level in (0, 1)}
    scratch = {level: np.zeros(c, dtype) for level, c in chunks.items()}
    kind = "annotation" if dtype == "uint64" else "image"
    read = read or (lambda b: cutout(f"{coll}/{exp}/{ch}", dtype, kind, 0, b.x, b.y, b.z)[0])
    seconds, written = 0.0, 0
    for block in plan_blocks(whole, dtype, block_bytes):
        data = np.ascontiguousarray(read(block))  # a buffer of its own, as the job's blocks arrive
        start = time.process_time()
        _, level1 = every_other(data, (block.z[0], block.y[0], block.x[0]), (1, 2, 2))
        for level, array in ((0, data), (1, level1)):
            out = scratch[level]
            for where in tiles(array.shape, chunks[level]):
                part = array[where]
                if part.shape != out.shape:
                    out[...] = 0  # an edge chunk, padded with the fill value as zarr stores it
                out[tuple(slice(0, n) for n in part.shape)] = part
                encoded = blosc_into(codec, out) if codec else out
                crc32(encoded)
                written += encoded.nbytes
        seconds += time.process_time() - start
    return seconds, written


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="/".join(CHANNEL[:3]), help="a devboss demo channel (demo/large/em)")
    parser.add_argument("--box", default="0:4096,0:4096,0:64", help="x0:x1,y0:y1,z0:z1 at level 0 (cutout_bench's)")
    parser.add_argument("--compression", default="none,lz4,zstd", help="codecs to measure, comma-separated")
    parser.add_argument("--folder", default=None, help="where the write is measured (the temporary folder's disk)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the fetch limit and of W (medians)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings

    from bench.cutout_bench import cpu_seconds
    from devboss import procs
    from devboss.testing import start_devboss

    channel, box = demo_channel(args.channel), parse_box(args.box)
    block_bytes, concurrency = settings.CUTOUT_BLOCK_BYTES, settings.CUTOUT_FETCH_CONCURRENCY
    cpus = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="zarr-floor-") as tmp:
        devboss = start_devboss(Path(tmp) / "devboss")
        try:
            def fetch(where):
                before = cpu_seconds(devboss.proc)
                r = run_child("fetch", {"boss_url": devboss.url, "token": devboss.token("alice"), "scheme": "Token",
                                        "box": where, "channel": channel, "block_bytes": block_bytes,
                                        "concurrency": concurrency})
                return {**r, "server_cpu": cpu_seconds(devboss.proc) - before}

            fetch(box)  # warms devboss up; not counted
            # The child's CPU time includes its start and imports (~0.2 s here), which a worker has behind it:
            # the CPU time of a fetch of one cuboid is taken off (with that cuboid's own little work).
            first = {k: (lo, min(hi, lo + n)) for (k, (lo, hi)), n in zip(box.items(), CUBOID_XYZ)}
            child_start = statistics.median(fetch(first)["cpu"] for _ in range(3))
            fetches = [fetch(box) for _ in range(args.repeat)]
        finally:
            procs.stop(devboss.proc)
    a = {k: statistics.median(r[k] for r in fetches) for k in ("seconds", "cpu", "server_cpu")}
    a["cpu"] -= child_start
    nbytes = prod(hi - lo for lo, hi in box.values()) * np.dtype(channel[3]).itemsize
    print(f"box x {box['x']}, y {box['y']}, z {box['z']} of {args.channel}: {nbytes / MB:.0f} MB, {cpus} CPUs shared")
    print(f"(a) fetch limit: {a['seconds']:.2f} s ({nbytes / MB / a['seconds']:.0f} MB/s), CPU {a['cpu']:.2f} s, "
          f"devboss {a['server_cpu']:.2f} s (medians of {args.repeat}; the child's start, {child_start:.2f} CPU s, "
          "taken off)")
    print(f"{'codec':8} {'W CPU s':>8} {'W GB/s':>7} {'file MB':>8} {'write CPU s':>12} {'ceiling of c/a':>15}")
    with tempfile.TemporaryDirectory(prefix="zarr-floor-", dir=args.folder) as folder:
        def write_cpu(n):
            return statistics.median(run_child("disk", {"folder": folder, "nbytes": n})["cpu"] for _ in range(3))

        page = write_cpu(4096)
        for compression in args.compression.split(","):
            runs = [writer_work(channel, box, compression, block_bytes) for _ in range(args.repeat)]
            w, written = statistics.median(r[0] for r in runs), runs[0][1]
            write = max(0.0, write_cpu(written) - page)
            ceiling = a["seconds"] * cpus / (a["cpu"] + a["server_cpu"] + w + write)
            print(f"{compression:8} {w:8.2f} {nbytes / w / 1e9:7.2f} {written / MB:8.0f} {write:12.2f} {ceiling:15.2f}",
                  flush=True)
    print("ceiling: a's seconds x CPUs / (CPU a + devboss a + W + write); the aim is c/a >= 0.85")


if __name__ == "__main__":
    main()
