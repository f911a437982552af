"""Compressed results: size and write speed per demo channel, `python -m bench.compression_bench`.

For each demo channel (a box of each, read from a devboss of its own once, then held in memory), the portal's
own writers (cutouts.pipeline.writers, as a job runs them: the same blocks, `--threads` fetch threads, the
worker's malloc settings, cutouts/pipeline/memory.py) write
the box with compression none, zstd and deflate, each `--repeat` times, alternating; the medians give

  size      the file's bytes over the box's raw bytes (smaller is better)
  speed     MB/s of voxels written, and the ratio to uncompressed in the same run (aim >= 0.7 on one thread)
  ceiling   for OME-Zarr, the most that ratio can be on one thread: the uncompressed writer's seconds over
            the CPU seconds of the work the layout asks for with that codec (bench.zarr_floor: chunk order,
            level 1, the codec on both levels, the CRC), which one thread must spend whatever else it does

OME-TIFF for image channels, TIFF ZIP for the uint64 segmentation (OME-TIFF has no uint64), OME-Zarr (lz4,
its default, and zstd) for all. devboss's data is procedural (smooth fields and a few large objects): it compresses better
than real EM, so the size column is a best case; the speed column is what the codecs cost.

The files go to a temporary folder on the disk, as a job's do. Where the disk is slower than the uncompressed
writer, compression wins by writing less and the ratio says little about the codecs: `--folder /dev/shm`
(memory) leaves the disk out.
"""
import argparse
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.zarr_floor import writer_work
from devboss import procs
from devboss.testing import start_devboss

MB = 1e6
CHANNELS = [  # (collection, experiment, channel, datatype, box x, y, z)
    ("demo", "cortex", "em", "uint8", (0, 2048), (0, 2048), (100, 132)),
    ("demo", "cortex", "fluo", "uint16", (0, 2048), (0, 2048), (100, 132)),
    ("demo", "cortex", "seg", "uint64", (0, 2048), (0, 1024), (100, 116)),
    ("demo", "large", "em", "uint8", (0, 4096), (0, 4096), (0, 16)),
]


def fetch(boss_url, c, e, ch, dtype, x, y, z):
    from bossdb import Credential, Session, read_cutout

    session = Session(boss_url, Credential("Token", "public"))
    out = np.empty((z[1] - z[0], y[1] - y[0], x[1] - x[0]), dtype)
    for z0 in range(z[0], z[1], 16):
        z1 = min(z0 + 16, z[1])
        out[z0 - z[0]:z1 - z[0]] = read_cutout(session, c, e, ch, dtype, 0, x, y, (z0, z1))
    return out


def write(folder, data, channel, fmt, compression, threads):
    from bossdb.geometry import Box
    from cutouts.pipeline import writers
    from cutouts.pipeline.fetch import fetch_all
    from cutouts.pipeline.plan import plan_blocks
    from cutouts.pipeline.provenance import provenance
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec

    z, y, x = data.shape
    box = Box((0, x), (0, y), (0, z))
    spec = CutoutSpec("http://boss.test", "c", "e", (ChannelSpec(channel, str(data.dtype)),), 0, box, format=fmt,
                      compression=compression, voxel_size=(4.0, 4.0, 40.0))

    def read(task):
        b = task.block
        return data[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]]

    job = writers.Production(
        spec=spec, folder=folder, box=box, blocks={channel: plan_blocks(box, str(data.dtype), 16 * 1024 * 1024)},
        fetch=lambda tasks, out: fetch_all(tasks, read, out, concurrency=threads),
        sidecar=lambda files: provenance(spec, files, datetime.now(timezone.utc), job_id="bench"),
        ids=writers.ObjectIds([]))
    start = time.perf_counter()
    name, _ = writers.FORMATS[fmt].produce(job)
    seconds = time.perf_counter() - start
    size = (folder / name).stat().st_size
    (folder / name).unlink()
    return seconds, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="fetch threads writing (the job has 3)")
    parser.add_argument("--folder", help="where the files are written (default: a temporary folder on the disk; "
                        "/dev/shm leaves a slow disk out and measures the writers and codecs alone)")
    args = parser.parse_args(argv)
    import django
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("PORTAL_DEV", "1")
    django.setup()
    from cutouts.pipeline.memory import lean_malloc

    lean_malloc()  # the malloc settings the writers run under in a worker's pool child and in boss-cutout
    with tempfile.TemporaryDirectory(prefix="compression-bench-") as tmp:
        root = Path(tmp)
        devboss = start_devboss(root / "devboss")
        try:
            boxes = [(c, e, ch, dtype, fetch(devboss.url, c, e, ch, dtype, x, y, z))
                     for c, e, ch, dtype, x, y, z in CHANNELS]
        finally:
            procs.stop(devboss.proc)
        out = Path(tempfile.mkdtemp(prefix="compression-bench-", dir=args.folder)) if args.folder else root
        try:
            print(f"{args.threads} writing thread(s), medians of {args.repeat}; size = file / raw bytes; "
                  f"files in {out}")
            print(f"{'channel':22} {'MB':>6} {'format':9} {'compression':11} {'size':>6} {'MB/s':>7} {'/ none':>7} "
                  f"{'ceiling':>8}")
            for (c, e, ch, dtype, data), (*_, x, y, z) in zip(boxes, CHANNELS):
                fmt = "tiff-zip" if dtype == "uint64" else "ome-tiff"
                plans = [(fmt, "none"), (fmt, "zstd"), (fmt, "deflate"), ("ome-zarr", "none"), ("ome-zarr", "lz4"),
                         ("ome-zarr", "zstd")]
                runs = {p: [] for p in plans}
                for _ in range(args.repeat):
                    for p in plans:
                        runs[p].append(write(out, data, ch, *p, args.threads))
                for p in plans:
                    seconds = statistics.median(s for s, _ in runs[p])
                    base = statistics.median(s for s, _ in runs[(p[0], "none")])
                    size = runs[p][0][1]
                    ceiling = ""
                    if p[0] == "ome-zarr" and p[1] != "none":
                        def block_of(b, data=data, origin=(z[0], y[0], x[0])):  # the box this bench holds already
                            return data[tuple(slice(lo - o, hi - o) for (lo, hi), o in zip((b.z, b.y, b.x), origin))]

                        work = [writer_work((c, e, ch, dtype), {"x": x, "y": y, "z": z}, p[1], 16 * 1024 * 1024,
                                            read=block_of)[0] for _ in range(3)]
                        ceiling = f"{base / statistics.median(work):8.2f}"
                    print(f"{c + '/' + e + '/' + ch:22} {data.nbytes / MB:6.0f} {p[0]:9} {p[1]:11} "
                          f"{size / data.nbytes:6.3f} {data.nbytes / MB / seconds:7.0f} {base / seconds:7.2f} {ceiling}")
        finally:
            if out != root:
                shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
