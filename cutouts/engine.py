"""Run one cutout job: plan blocks, fetch them from BOSS with bounded concurrency, write them straight
into the output file, report progress, honour cancellation, retry transient BOSS failures.

Memory stays bounded by (concurrency + a few) blocks, whatever the size of the box: a block is written
to its place in the file as soon as it arrives and then dropped.
"""
import json
from dataclasses import replace
import logging
import os
import queue
import threading
import time
import zipfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import numpy as np
from django.conf import settings
from django.db import connections

from cutouts import notify, recipes, semaphore, storage
from cutouts.blocks import plan_blocks
from cutouts.writers import VolumeTiff, WriterError, calibration
from cutouts.zarr_writer import OmeZarrZip
from portal.boss.credentials import credential_for
from portal.boss.errors import BossError, BossForbidden, BossTimeout, BossUnavailable, LoginRequired
from portal.boss.remote import remote_for_credential
from portal.boss.volume import read_block

log = logging.getLogger(__name__)

PORTAL_VERSION = "0.1.0"
SIDECAR = "provenance.json"


class JobCancelled(Exception):
    pass


class JobFailed(Exception):
    """A failure whose message is for the user."""


def file_stem(job, channel=None, z=None, part=None):
    parts = [job.collection, job.experiment]
    if channel:
        parts.append(channel)
    elif len(job.channels) == 1:
        parts.append(job.channels[0])
    z0, z1 = z or (job.z0, job.z1)
    parts += [f"r{job.resolution}", f"x{job.x0}-{job.x1}", f"y{job.y0}-{job.y1}", f"z{z0}-{z1}"]
    if job.time_range:
        parts.append(f"t{job.t0}-{job.t1}")
    if part is not None:
        parts.append(f"part{part:03d}")
    return "_".join(parts)


class Fetcher:
    """Reads blocks as the job's owner: one intern remote per thread, a fresh credential after a 401."""

    def __init__(self, job):
        self.job = job
        self.local = threading.local()
        self.retries = settings.CUTOUT_BLOCK_RETRIES
        self.backoff = settings.CUTOUT_RETRY_BACKOFF

    def _remote(self, renew=False):
        if renew or getattr(self.local, "remote", None) is None:
            try:
                self.local.remote = remote_for_credential(credential_for(self.job.owner))
            except LoginRequired as exc:
                raise JobFailed(f"Your BOSS login has expired and could not be renewed: {exc.message} "
                                "Log in again and retry the job.") from exc
        return self.local.remote

    def fetch(self, channel, datatype, block):
        job = self.job
        t = block.t if job.time_range else None
        renewed = False
        for attempt in range(self.retries + 1):
            try:
                with semaphore.boss_request_slot():  # the cap on requests to BOSS from all workers together
                    data = read_block(self._remote(), job.collection, job.experiment, channel, datatype,
                                      job.resolution, block.x, block.y, block.z, t)
                return data[0] if t else data
            except BossForbidden as exc:
                if exc.boss_status == 401 and not renewed:  # the access token expired mid-job
                    renewed = True
                    self._remote(renew=True)
                    continue
                raise JobFailed(f"BOSS refused access to {channel}: {exc.message}") from exc
            except (BossUnavailable, BossTimeout) as exc:
                if attempt == self.retries:
                    raise JobFailed(
                        f"BOSS failed on block {block.index + 1} of {channel} after {self.retries + 1} tries: "
                        f"{exc.message}"
                    ) from exc
                time.sleep(self.backoff * 2**attempt)
            except BossError as exc:
                raise JobFailed(f"BOSS rejected the request for {channel}: {exc.message}") from exc
        raise JobFailed("unreachable")  # pragma: no cover


def _fetch_all(job, fetcher, tasks, write):
    """Fetch (channel index, channel, datatype, block) tasks in parallel; each thread writes the block it
    fetched straight into the file (`write` must be thread-safe: the writers are), then takes the next.

    At most `concurrency` blocks are held at once, so memory stays bounded by a few blocks. This thread
    only counts: it records the blocks finished since its last update in one UPDATE (which is also the
    cancellation check), so a slow database never holds up the fetches.
    """
    concurrency = max(1, settings.CUTOUT_FETCH_CONCURRENCY)
    pending = deque(tasks)
    take = threading.Lock()
    stop = threading.Event()
    finished = queue.SimpleQueue()  # (task, exception or None)

    def fetch_and_write():
        while not stop.is_set():
            with take:
                if not pending:
                    return
                task = pending.popleft()
            try:
                data = fetcher.fetch(task[1], task[2], task[3])
                if stop.is_set():  # failed or cancelled meanwhile: the file is being thrown away
                    return
                write(task, data)
                del data
                finished.put((task, None))
            except BaseException as exc:  # handed to the job's thread, which fails the job with it
                finished.put((task, exc))
                return

    def run_thread():
        try:
            fetch_and_write()
        finally:
            connections.close_all()  # this thread's own connection (the token lookup), not left open

    remaining = len(pending)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"cutout-{job.pk}") as pool:
        for _ in range(min(concurrency, remaining)):
            pool.submit(run_thread)
        try:
            while remaining:
                batch = [finished.get()]
                while True:
                    try:
                        batch.append(finished.get_nowait())
                    except queue.Empty:
                        break
                for _, exc in batch:
                    if exc is not None:
                        raise exc
                remaining -= len(batch)
                if not job.advance(len(batch)):
                    raise JobCancelled()
        finally:
            stop.set()  # the threads finish the request in hand and write nothing more


class ObjectIds:
    """The object ids present in the annotation channels' blocks, merged as blocks arrive (objects.csv).

    Cheap next to the fetch: np.unique over the non-zero voxels of a 64 MB block takes ~35 ms."""

    def __init__(self, channels):
        self.ids = {ch: set() for ch in channels}
        self.lock = threading.Lock()

    def add(self, channel, data):
        if channel in self.ids:
            found = np.unique(data[data != 0]).tolist()
            with self.lock:
                self.ids[channel].update(found)

    def files(self):
        """{"objects.csv": text} when the job has an annotation channel, else {}."""
        if not self.ids:
            return {}
        rows = ["channel,object_id"] + [f"{ch},{i}" for ch, ids in self.ids.items() for i in sorted(ids)]
        return {"objects.csv": "\n".join(rows) + "\n"}


def _sidecar(job, files, cal, started):
    meta = job.meta
    vx, vy, vz = cal.x, cal.y, cal.z
    doc = {
        "portal_version": PORTAL_VERSION,
        "job": str(job.pk),
        "boss_url": meta.get("boss_url", settings.BOSS_URL),
        "collection": job.collection,
        "experiment": job.experiment,
        "channels": {
            ch: {
                "datatype": meta["channels"][ch]["datatype"],
                "type": meta["channels"][ch].get("type", "image"),
                "resource": f"bossdb://{job.collection}/{job.experiment}/{ch}",
                "rest_url": recipes.rest_url(job, ch),
                "intern": recipes.intern_snippet(job, ch),
            }
            for ch in job.channels
        },
        "resolution": job.resolution,
        "box_voxels": {"x": [job.x0, job.x1], "y": [job.y0, job.y1], "z": [job.z0, job.z1],
                       "t": [job.t0, job.t1]},
        "box_physical": {
            "x": [job.x0 * vx, job.x1 * vx], "y": [job.y0 * vy, job.y1 * vy], "z": [job.z0 * vz, job.z1 * vz],
            "unit": cal.unit,
        },
        "voxel_size": {"x": vx, "y": vy, "z": vz, "unit": cal.unit},
        "format": job.format,
        "files": files,
        "viewer_url": meta.get("viewer_url", ""),
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
    }
    return json.dumps(doc, indent=2)


def run(job):
    """Execute a job that the caller has already moved to running. Leaves it done, failed or cancelled."""
    started = datetime.now(timezone.utc)
    folder = storage.scratch_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    try:
        if job.split:
            parts = _produce_parts(job, folder, started)
            name, size = parts[0]["name"], sum(p["size"] for p in parts)
        else:
            name, size = _produce(job, folder, started)
            # Into the shared storage (a rename on local disk) before the job says done.
            storage.publish(job, folder / name, name)
        storage.publish(job, folder / SIDECAR, SIDECAR)
    except JobCancelled:
        _clean(folder)
        storage.delete_job_files(job)  # parts already published
        return
    except (JobFailed, WriterError) as exc:
        _clean(folder)
        storage.delete_job_files(job)
        job.fail(str(exc))
    except Exception as exc:  # never leave a job running: say what broke, log the rest
        log.exception("cutout job %s crashed", job.pk)
        _clean(folder)
        storage.delete_job_files(job)
        job.fail(f"The portal failed while making this cutout ({type(exc).__name__}); it has been logged.")
    else:
        _clean(folder)
        if not job.finish(name, size, parts):  # cancelled while the last block was written
            storage.delete_job_files(job)
            return
    notify.email_owner(job)


def _clean(folder):
    if folder.exists():
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        folder.rmdir()


def _produce_parts(job, folder, started):
    """Each part (a z slab on cuboid boundaries, chosen at submission) is written, then published at
    once, so the scratch space holds one part at a time. Returns the parts' descriptions."""
    ranges = [tuple(z) for z in job.meta["part_z"]]
    dtypes = {ch: job.meta["channels"][ch]["datatype"] for ch in job.channels}
    job.plan(sum(len(plan_blocks(replace(job.box, z=z), dtypes[ch], settings.CUTOUT_BLOCK_BYTES))
                 for z in ranges for ch in job.channels))
    fetcher = Fetcher(job)
    parts = []
    for n, z in enumerate(ranges, 1):
        name, size = _produce(job, folder, started, box=replace(job.box, z=z), part=n, fetcher=fetcher)
        storage.publish(job, folder / name, name)
        parts.append({"n": n, "name": name, "size": size, "z": list(z)})
    sidecar = json.loads((folder / SIDECAR).read_text())
    sidecar["files"] = [p["name"] for p in parts]
    sidecar["parts"] = parts
    (folder / SIDECAR).write_text(json.dumps(sidecar, indent=2))
    return parts


def _produce(job, folder, started, box=None, part=None, fetcher=None):
    """Write the job's box (or `box`, one part of it) into one file in `folder`; return (name, size)."""
    meta = job.meta
    channels = list(job.channels)
    dtypes = {ch: meta["channels"][ch]["datatype"] for ch in channels}
    cal = calibration(meta["voxel_size"], meta["voxel_unit"], job.resolution, meta.get("hierarchy_method", "anisotropic"))
    box = box or job.box
    zyx = box.shape_zyx
    times = box.time_samples
    per_channel = {ch: plan_blocks(box, dtypes[ch], settings.CUTOUT_BLOCK_BYTES) for ch in channels}
    if fetcher is None:  # a whole job; a part's blocks were counted by _produce_parts
        job.plan(sum(len(b) for b in per_channel.values()))
        fetcher = Fetcher(job)

    def stem(channel=None):
        return file_stem(job, channel, z=box.z, part=part)

    t0, z0, y0, x0 = box.t[0], box.z[0], box.y[0], box.x[0]

    def tasks_for(chs):
        return [(ci, ch, dtypes[ch], b) for ci, ch in enumerate(chs) for b in per_channel[ch]]

    ids = ObjectIds([ch for ch in channels if meta["channels"][ch].get("type") == "annotation"
                     and job.format in ("tiff-zip", "ome-zarr")])  # the formats that can carry objects.csv

    def writer_for(out):
        def write(task, data):
            ci, ch, _, b = task
            ids.add(ch, data)
            out.write_block(data, b.z[0] - z0, b.y[0] - y0, b.x[0] - x0, t=b.t[0] - t0,
                            c=ci if out.channels > 1 else 0)
        return write

    files = []
    if job.format == "tiff-zip":
        for ch in channels:
            with VolumeTiff(folder / f"{stem(ch)}.tif", zyx, dtypes[ch], cal, flavour="ome",
                            times=times) as out:
                _fetch_all(job, fetcher, [(0, ch, dtypes[ch], b) for b in per_channel[ch]], writer_for(out))
            files.append(out.path)
        name = f"{stem()}.zip"
        sidecar = _sidecar(job, [os.path.basename(f) for f in files] + list(ids.files()), cal, started)
        part = folder / (name + ".part")
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for path in files:
                zf.write(path, os.path.basename(path))
                os.unlink(path)
            zf.writestr("provenance.json", sidecar)
            for extra, text in ids.files().items():
                zf.writestr(extra, text)
        os.replace(part, folder / name)
    elif job.format == "ome-zarr":
        name = f"{stem()}.ome.zarr.zip"
        kinds = [(ch, dtypes[ch], meta["channels"][ch].get("type", "image")) for ch in channels]
        with OmeZarrZip(folder / name, zyx, kinds, cal, times=times, origin_zyx=(z0, y0, x0),
                        hierarchy=meta.get("hierarchy_method", "anisotropic")) as out:
            _fetch_all(job, fetcher, tasks_for(channels), writer_for(out))
            sidecar = _sidecar(job, [name], cal, started)
            out.extra_files.update({SIDECAR: sidecar, **ids.files()})
    else:
        flavour = "imagej" if job.format == "imagej-tiff" else "ome"
        suffix = ".tif" if flavour == "imagej" or dtypes[channels[0]] == "uint64" else ".ome.tif"
        name = stem() + suffix
        with VolumeTiff(folder / name, zyx, dtypes[channels[0]], cal, flavour=flavour, channels=len(channels),
                        times=times, channel_names=channels) as out:
            _fetch_all(job, fetcher, tasks_for(channels), writer_for(out))
        sidecar = _sidecar(job, [name], cal, started)
    tmp = folder / (SIDECAR + ".part")
    tmp.write_text(sidecar)
    os.replace(tmp, folder / SIDECAR)
    return name, (folder / name).stat().st_size
