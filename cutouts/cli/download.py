"""One channel's download: finish or reopen what an earlier run left, then fetch the missing blocks with the
pipeline's fetch loop, each written into its slab's files and then recorded in the manifest."""
import time
from math import prod

import numpy as np

from cutouts.cli.manifest import fsync_dir
from cutouts.pipeline.fetch import Task, fetch_all
from cutouts.pipeline.writers.stack import SlabWriter, SlabWriters

# Finished blocks are made durable and recorded together, at most this often: an fsync per block of a file
# written through the page cache (a box wider than its blocks) took 40 % of the time. A run killed meanwhile
# fetches these blocks again.
SETTLE_SECONDS = 0.5


def prepare(plan, manifest, folder):
    """Finish slabs an earlier run completed, reopen those it left half done. Returns (open writers, todo).

    `manifest` is the channel's view of the manifest (Manifest.channel: `done` and `record_all`)."""
    writers, todo = {}, []
    for slab in plan.slabs:
        ids = [b.key for b in slab.blocks]
        done = [i for i in ids if i in manifest.done]
        if len(done) == len(ids):
            # Killed between the last block and the renames: rename the staging files still waiting.
            waiting = [name for name in slab.files if not (folder / name).exists()]
            if not waiting:
                continue
            finisher = SlabWriter(plan, slab, folder, only=waiting)
            if finisher.open():
                finisher.commit()
                continue
            finisher.close()
            manifest.done.difference_update(ids)  # a slice is lost: fetch the whole slab again
            done = []
        if done:
            writer = SlabWriter(plan, slab, folder)
            if not writer.open():  # a staging file is gone or damaged: fetch the whole slab again
                manifest.done.difference_update(ids)
                done = []
            writers[slab.key] = writer
        todo.extend(b for b in slab.blocks if b.key not in manifest.done)
    return writers, todo


def download(plan, manifest, folder, read, workers, progress):
    """Fetch the channel's missing blocks into their files; `read(task)` reads one block from BOSS."""
    opened, todo = prepare(plan, manifest, folder)
    writers = SlabWriters(plan, folder, opened)
    remaining = {s.key: sum(b.key not in manifest.done for b in s.blocks) for s in plan.slabs}
    itemsize = np.dtype(plan.dtype).itemsize
    progress.update(sum(prod(b.shape_zyx) * itemsize for b in plan.blocks) - sum(
        prod(b.shape_zyx) * itemsize for b in todo))
    channel = plan.spec.channels[0]

    pending = []  # written by the write threads, not yet durable nor recorded
    settled = [time.monotonic()]

    def settle():
        """Make the pending blocks durable (one fsync per file they went into), record them (one fsync of the
        manifest), then commit the slabs they finished."""
        if not pending:
            return
        writers.flush({writers.slab_of[task.block.key].key for task in pending})
        manifest.record_all([task.block.key for task in pending])
        for task in pending:
            slab = writers.slab_of[task.block.key]
            remaining[slab.key] -= 1
            if remaining[slab.key] == 0:
                writers.commit(slab)
                fsync_dir(folder)
        pending.clear()
        settled[0] = time.monotonic()

    def on_done(tasks):
        pending.extend(tasks)
        progress.update(sum(prod(task.block.shape_zyx) for task in tasks) * itemsize)
        if time.monotonic() - settled[0] >= SETTLE_SECONDS:
            settle()

    def open_and_read(task):
        writers.writer_for(task.block)  # the slab's staging files exist from its first request on
        return read(task)

    open_and_read.detach = getattr(read, "detach", None)  # the reader's buffer goes with each block to its write
    open_and_read.give = getattr(read, "give", None)
    open_and_read.buffers = getattr(read, "buffers", None)  # as many write threads as blocks can be in hand

    try:
        fetch_all([Task(0, channel, b) for b in todo], open_and_read, lambda task, data: writers.write(task.block, data),
                  concurrency=workers, on_done=on_done, wait=False, name=f"fetch-{channel.name}")
        settle()
    except BaseException:
        try:  # keep what was written before the failure or the interruption
            settle()
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        raise
    finally:
        writers.close()
