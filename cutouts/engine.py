"""Run one cutout job: the web shell over the pipeline (cutouts/pipeline/).

The pipeline plans the blocks, fetches them through bossdb with bounded concurrency and writes them straight
into the result. This module adds what a web job needs: the owner's identity (their token, renewed when
BOSS rejects it), the cap on requests in flight from every worker (a Redis semaphore), progress and
cancellation in the database, the results storage, and a message for the user when the job fails.
"""
import json
import logging
import os
import shutil
import time
from dataclasses import replace
from datetime import datetime, timezone

from django.conf import settings
from django.db import connections

from bossdb import Retry
from bossdb.errors import BossForbidden, BossThrottled, BossUnavailable, LoginRequired
from cutouts import logins, notify, semaphore, storage
from cutouts.heartbeat import Heartbeat
from cutouts.pipeline import writers
from cutouts.pipeline.fetch import BlockFailed, BlockReader, Stopped, fetch_all
from cutouts.pipeline.plan import plan_blocks, whole_rows
from cutouts.pipeline.provenance import SIDECAR, provenance
from cutouts.pipeline.writers import ObjectIds, Production, WriterError, done_key
from portal.boss.session import boss_session

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """The job stopped being this run's: cancelled by its owner, or taken over by another run."""


class JobFailed(Exception):
    """A failure whose message is for the user."""


def failure(exc: BlockFailed):
    """The user's message for a block BOSS failed on for good."""
    error, channel, block = exc.error, exc.task.channel.name, exc.task.block
    if isinstance(error, BossForbidden):
        return JobFailed(f"BOSS refused access to {channel}: {error.message}")
    if isinstance(error, BossThrottled):  # never retried: BOSS says when it serves this user again
        return JobFailed(f"BOSS stopped serving this job: {error.message} BOSS meters downloads per user per day; "
                         "retry the job once it serves you again (finished jobs count too: cut out smaller boxes "
                         "or a coarser level to stay within it).")
    if isinstance(error, BossUnavailable):
        tries = settings.CUTOUT_BLOCK_RETRIES + 1
        return JobFailed(f"BOSS failed on block {block.index + 1} of {channel} after {tries} tries: {error.message}")
    return JobFailed(f"BOSS rejected the request for {channel}: {error.message}")


class NeedsLogin(Exception):
    """No valid token is left to call BOSS with (cutouts.logins): the job waits for its owner to log in."""


PROGRESS = "progress.json"  # in the scratch folder: the finished blocks and published parts, to resume from


def job_session(job):
    """A bossdb session acting as the job's owner: the token the job was submitted with while it is valid,
    else the owner's session (cutouts.logins); the job's retries; a slot of the cap on requests in flight to
    BOSS from all workers together."""
    try:
        credential = logins.first_credential(job)
    except LoginRequired as exc:
        raise NeedsLogin(exc.message) from exc
    return boss_session(credential, retry=Retry(settings.CUTOUT_BLOCK_RETRIES, settings.CUTOUT_RETRY_BACKOFF),
                        renew=logins.renewer(job), slot=semaphore.boss_request_slot,
                        renew_margin=settings.OIDC_REFRESH_MARGIN_SECONDS)


class JobRun:
    """The job's side of the fetch loop: one reader for the whole job, progress counted in the database, and
    the finished blocks recorded (every CUTOUT_PROGRESS_SECONDS, after the files holding them are synced), so
    that a run that died, or waited for a login, is resumed where it stopped by the next one."""

    def __init__(self, job, folder, heartbeat=None):
        self.job, self.folder, self.heartbeat = job, folder, heartbeat
        self.spec = job.spec
        saved = _load_progress(folder)
        self.done = set(saved.get("done", []))  # "channel/block key" of every block written
        self.published = saved.get("parts", [])
        rows = all(whole_rows(self.spec.box, ch.datatype, settings.CUTOUT_BLOCK_BYTES) for ch in self.spec.channels)
        self.read = BlockReader(job_session(job), self.spec,
                                buffers=writers.block_buffers(self.spec.format, self.spec.compression, rows))
        self.saved_at = time.monotonic()

    def save(self):
        """Record what is finished (the writers keep their files), for the run that resumes the job: the
        files are synced first, then the record is written and synced, so it never names a block the disk
        doesn't hold."""
        _sync_files(self.folder)
        tmp = self.folder / (PROGRESS + ".part")
        with open(tmp, "w") as f:
            json.dump({"done": sorted(self.done), "parts": self.published}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.folder / PROGRESS)
        self.saved_at = time.monotonic()

    def blocks(self, box):
        return {ch.name: plan_blocks(box, ch.datatype, settings.CUTOUT_BLOCK_BYTES) for ch in self.spec.channels}

    def fetch(self, tasks, write):
        """Fetch `tasks` into `write`; each batch of finished blocks is one UPDATE, also the cancel check."""
        def on_done(batch):
            self.done.update(done_key(t.channel.name, t.block) for t in batch)
            if self.heartbeat is not None and self.heartbeat.lost.is_set():
                return False
            if time.monotonic() - self.saved_at >= settings.CUTOUT_PROGRESS_SECONDS:
                self.save()
            return self.job.advance(len(batch))

        try:
            fetch_all(tasks, self.read, write, concurrency=settings.CUTOUT_FETCH_CONCURRENCY, on_done=on_done,
                      name=f"cutout-{self.job.pk}", thread_exit=connections.close_all)
        except Stopped:
            raise JobCancelled() from None
        except BlockFailed as exc:
            if isinstance(exc.error, LoginRequired):
                raise NeedsLogin(exc.error.message) from exc
            raise failure(exc) from exc

    def produce(self, folder, started, box=None, part=None):
        """Write the box (or `box`, one part of it) into one file in `folder`; return (name, size)."""
        spec = self.spec
        box = box or spec.box
        fmt = writers.FORMATS[spec.format]
        annotations = [c.name for c in spec.channels if c.is_annotation]
        production = Production(
            spec=spec, folder=folder, box=box, blocks=self.blocks(box), fetch=self.fetch, part=part,
            sidecar=lambda files: provenance(spec, files, started, job_id=str(self.job.pk)),
            ids=ObjectIds(annotations) if fmt.carries_objects else None,
            # The writers keep their files when the run stops short, to resume from. Not where the result
            # lists the objects of its blocks (objects.csv): a resumed run would miss those read before.
            done=None if fmt.carries_objects and annotations else self.done,
        )
        if production.done is None:
            self.done.clear()
        if part is None:  # a whole job; a part's blocks were counted by produce_parts
            self.job.plan(sum(len(b) for b in production.blocks.values()))
            self.job.advance(len(self.done))
        name, sidecar = fmt.produce(production)
        tmp = folder / (SIDECAR + ".part")
        tmp.write_text(sidecar)
        tmp.replace(folder / SIDECAR)
        return name, (folder / name).stat().st_size

    def produce_parts(self, folder, started):
        """Each part (a z slab on cuboid boundaries, chosen at submission) is written, then published at
        once, so the scratch space holds one part at a time. Returns the parts' descriptions."""
        boxes = [replace(self.spec.box, z=z) for z in self.spec.parts]
        self.job.plan(sum(len(b) for box in boxes for b in self.blocks(box).values()))
        self.job.advance(len(self.done) + sum(len(b) for p in self.published
                                                    for b in self.blocks(boxes[p["n"] - 1]).values()))
        for n, box in enumerate(boxes, 1):
            if any(p["n"] == n for p in self.published):
                continue  # published by the run that waited for a login
            name, size = self.produce(folder, started, box=box, part=n)
            storage.publish(self.job, folder / name, name)
            self.published.append({"n": n, "name": name, "size": size, "z": list(box.z)})
            self.done.clear()  # the blocks of the parts before are in published files
            self.save()
        sidecar = json.loads((folder / SIDECAR).read_text())
        sidecar["files"] = [p["name"] for p in self.published]
        sidecar["parts"] = self.published
        (folder / SIDECAR).write_text(json.dumps(sidecar, indent=2))
        return self.published


def run(job):
    """Execute a job that the caller has already moved to running. Leaves it done, failed, cancelled,
    waiting for a login, or (when another run took it over after this one's heartbeat was late) to that
    run. The scratch folder is kept only for a run that will resume it."""
    with Heartbeat(job) as heartbeat:
        _run(job, heartbeat)


def _run(job, heartbeat):
    started = datetime.now(timezone.utc)
    folder = storage.scratch_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    work = None
    try:
        work = JobRun(job, folder, heartbeat)
        if job.split:
            parts = work.produce_parts(folder, started)
            name, size = parts[0]["name"], sum(p["size"] for p in parts)
        else:
            parts = []
            name, size = work.produce(folder, started)
            # Into the shared storage (a rename on local disk) before the job says done.
            storage.publish(job, folder / name, name)
        storage.publish(job, folder / SIDECAR, SIDECAR)
    except NeedsLogin as exc:
        if work is not None:
            work.save()
        logins.wait_for_login(job, str(exc))
        return
    except JobCancelled:
        if not _taken_over(job):
            _discard(job, folder)  # parts already published too
        return
    except (JobFailed, WriterError) as exc:
        if not _taken_over(job):
            _discard(job, folder)
            job.fail(str(exc))
    except Exception as exc:  # never leave a job running: say what broke, log the rest
        log.exception("cutout job %s crashed", job.pk)
        if not _taken_over(job):
            _discard(job, folder)
            job.fail(f"The portal failed while making this cutout ({type(exc).__name__}); it has been logged.")
    else:
        if _taken_over(job):
            return
        _clean(folder)
        if not job.finish(name, size, parts):  # cancelled while the last block was written
            storage.delete_job_files(job)
            return
    finally:
        if work is not None:
            work.read.close()  # its block buffers serve this worker's next job
    notify.email_owner(job)


def _taken_over(job):
    """Another run owns the job now (this one's heartbeat was late): its files are that run's to keep."""
    if job.taken_over():
        log.warning("job %s was taken over by another run; this one stops and leaves the files", job.pk)
        return True
    return False


def _discard(job, folder):
    _clean(folder)
    storage.delete_job_files(job)


def _load_progress(folder):
    """What an earlier run recorded, or nothing (no record, or one cut short by a crash)."""
    try:
        return json.loads((folder / PROGRESS).read_text())
    except (OSError, ValueError):
        return {}


def _sync_files(folder):
    """fsync every file under `folder` changed since the last record (fsync through a read-only descriptor
    flushes the file's dirty pages too)."""
    record = folder / PROGRESS
    since = record.stat().st_mtime - 1 if record.exists() else 0
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                if os.stat(path).st_mtime < since:
                    continue
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _clean(folder):
    shutil.rmtree(folder, ignore_errors=True)
