"""The one fetch loop: blocks read from BOSS by a few threads, each written into place as it arrives.

Memory stays bounded by `concurrency` blocks whatever the box: a thread fetches a block, writes it (the
writers are thread-safe), drops it and takes the next. The calling thread only counts: `on_done(tasks)`
gets the tasks finished since its last call (a web job records progress and checks for cancellation in
one UPDATE; the command line records them in its resume manifest) and returns False to stop.

Retries, token renewal and the cap on requests in flight live in the bossdb Session the reader uses.
"""
import queue
import threading
from collections import deque
from dataclasses import dataclass

import bossdb
from bossdb.errors import BossError
from bossdb.geometry import Block

from cutouts.pipeline.spec import ChannelSpec, CutoutSpec


@dataclass(frozen=True)
class Task:
    """One block of one channel; `index` is the channel's place in the request (its c in the file)."""

    index: int
    channel: ChannelSpec
    block: Block


class BlockFailed(Exception):
    """BOSS failed on a block for good (after the session's retries): `error` is the bossdb error."""

    def __init__(self, task, error):
        super().__init__(error.message)
        self.task, self.error = task, error


class Stopped(Exception):
    """on_done() asked to stop (the job was cancelled)."""


def tasks_for(spec: CutoutSpec, blocks_of, channels=None):
    """[Task] for every block of every channel (`blocks_of(channel)` gives a channel's blocks)."""
    chosen = channels if channels is not None else spec.channels
    return [Task(i, ch, b) for i, ch in enumerate(chosen) for b in blocks_of(ch)]


class BlockReader:
    """Reads one block of a spec's box in one request; a (Z, Y, X) array whatever the time range."""

    def __init__(self, session, spec):
        self.session, self.spec = session, spec

    def __call__(self, task):
        spec, block = self.spec, task.block
        t = block.t if spec.time_range else None
        data = bossdb.read_cutout(self.session, spec.collection, spec.experiment, task.channel.name,
                                  task.channel.datatype, spec.resolution, block.x, block.y, block.z, t)
        return data[0] if t else data


def fetch_all(tasks, read, write, *, concurrency=3, on_done=None, wait=True, name="fetch", thread_exit=None):
    """Run every task: `read(task)` -> array, then `write(task, array)`, in `concurrency` threads.

    Raises BlockFailed for a BOSS error, Stopped when on_done() returned False, or whatever read/write
    raised. wait=True joins the threads before returning or raising (a web job must not write into a
    file it is deleting); wait=False leaves them to die with the process (Ctrl-C on the command line
    must not wait for the requests in flight). `thread_exit()` runs in each thread as it ends (a web job
    closes the thread's database connection).
    """
    pending = deque(tasks)
    take = threading.Lock()
    stop = threading.Event()
    finished = queue.SimpleQueue()  # (task, exception or None)

    def work():
        try:
            fetch_and_write()
        finally:
            if thread_exit is not None:
                thread_exit()

    def fetch_and_write():
        while not stop.is_set():
            with take:
                if not pending:
                    return
                task = pending.popleft()
            try:
                data = read(task)
                if stop.is_set():  # failed or cancelled meanwhile: nothing more is written
                    return
                write(task, data)
                del data
                finished.put((task, None))
            except BossError as exc:
                finished.put((task, BlockFailed(task, exc)))
                return
            except BaseException as exc:  # handed to the calling thread, which raises it
                finished.put((task, exc))
                return

    remaining = len(pending)
    threads = [threading.Thread(target=work, name=f"{name}-{i}", daemon=True)
               for i in range(min(max(1, concurrency), remaining))]
    for thread in threads:
        thread.start()
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
            if on_done is not None and on_done([task for task, _ in batch]) is False:
                raise Stopped()
    finally:
        stop.set()  # the threads finish the request in hand and write nothing more
        if wait:
            for thread in threads:
                thread.join()
