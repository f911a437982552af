"""The one fetch loop: blocks read from BOSS by a few threads, each written into place as it arrives.

Memory stays bounded by a few blocks whatever the box: a reading thread fetches a block and hands it to a
writing thread (the writers are thread-safe), which writes it into place and gives its buffer back; the
reader meanwhile sends the next request. The calling thread only counts: `on_done(tasks)`
gets the tasks finished since its last call (a web job records progress and checks for cancellation in
one UPDATE; the command line records them in its resume manifest) and returns False to stop.

Retries, token renewal and the cap on requests in flight live in the bossdb Session the reader uses.
"""
import mmap
import queue
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

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


_spares = []  # buffers a finished job's pool left to the next pool of this process
_spares_lock = threading.Lock()


BODIES = 1  # BOSS's answers held at once, in blocks (BlockReader)
LARGE_ANSWER_BUFFERS = 2  # block buffers once BOSS's answers weigh half a block or more (BlockReader)


class BufferPool:
    """A few page-aligned buffers shared by the reading threads, one per block between its decoding and the
    end of its write. No more than the threads: a thread spends most of a block waiting for BOSS's answer,
    holding no buffer, so two buffers serve three threads and memory stays at two blocks. A web job whose
    writer holds nothing of its own takes three (cutouts.pipeline.writers.block_buffers).

    A worker runs job after job, boss-cutout channel after channel: `retire()` at the end of one leaves its
    buffers to the next pool made in the process, which takes up to its count of them and lets the rest go.
    Fresh memory costs its page faults (on this VM ~4 µs a page: 0.1 CPU s for the three 32 MB buffers of an
    OME-TIFF job, measured with perf); reused memory costs nothing. Between jobs a worker's child keeps those
    few buffers."""

    def __init__(self, count=2):
        with _spares_lock:
            self.free = _spares[:count]
            _spares.clear()  # more than this pool's count would only add to its memory
        self.count, self.made = count, len(self.free)
        self.ready = threading.Condition()

    def take(self, nbytes):
        with self.ready:
            while True:
                for i, b in enumerate(self.free):  # by position: list.remove would compare arrays
                    if b.nbytes >= nbytes:
                        return self.free.pop(i)
                if self.made < self.count or self.free:  # make one, or replace a buffer too small
                    if self.free:
                        self.free.pop()
                    else:
                        self.made += 1
                    # Anonymous private memory is page-aligned, as writing straight from it to disk (O_DIRECT)
                    # needs; private rather than mmap's default shared: cheaper to fault in. Huge pages where
                    # the kernel has them (transparent huge pages, on request): a 32 MiB buffer faults in 16
                    # times instead of 8,192 (5 ms against 26), and each O_DIRECT write pins 2 MiB pages.
                    # boss-cutout, 2.1 GB: 3.4-3.5 s from 3.9-4.2 (bench.cli_bench, README).
                    memory = mmap.mmap(-1, max(nbytes, 1), flags=mmap.MAP_PRIVATE)
                    try:
                        memory.madvise(mmap.MADV_HUGEPAGE)
                    except (AttributeError, OSError):  # not Linux, or a kernel without huge pages: 4 KiB pages
                        pass
                    return np.frombuffer(memory, np.uint8)
                self.ready.wait()

    def give(self, buf):
        with self.ready:
            if self.made > self.count:  # limit() lowered the count: this buffer goes
                self.made -= 1
                return
            self.free.append(buf)
            self.ready.notify()

    def limit(self, count):
        """Hold no more than `count` buffers from now on (those beyond it go as they are given back)."""
        with self.ready:
            self.count = min(self.count, count)
            while self.made > self.count and self.free:
                self.free.pop()
                self.made -= 1

    def retire(self):
        """Leave the free buffers to the next pool of this process (the one after a job that ended)."""
        with self.ready:
            free, self.free = self.free, []
            self.made -= len(free)
        with _spares_lock:
            _spares[:] = sorted(_spares + free, key=lambda b: b.nbytes, reverse=True)[:self.count]


class BlockReader:
    """Reads one block of a spec's box in one request; a (Z, Y, X) array whatever the time range.

    Blocks are decoded into buffers of a BufferPool: the array returned is valid until its buffer goes back
    to the pool, by release() in the same thread or by give(detach()), which the fetch loop does once the
    block is written. BOSS's answers read and not yet decoded hold at most `bodies` blocks' bytes together
    (a bossdb.BodyRoom): the answers' weight depends on the data (devboss's smooth voxels 0.05 of their
    bytes, real EM about 1), and memory must not. The other threads' requests stay in flight meanwhile.

    The answers and the block buffers share one budget: once an answer weighs half a block or more (real EM,
    or a body of unknown length), the pool keeps LARGE_ANSWER_BUFFERS buffers instead of a third, whose place
    the answer takes. Measured with answers of real-EM size (bench.cutout_bench --boss-clevel 0, shared CPUs,
    two alternating runs of medians of 5): 1.46-1.51 s and 219 MB with two buffers, 1.57-1.59 s and 253 MB
    with three.
    """

    def __init__(self, session, spec, buffers=2, bodies=BODIES):
        self.session, self.spec = session, spec
        self.pool = BufferPool(buffers)
        self.bodies = bodies
        self.room = bossdb.BodyRoom(0)  # grown to `bodies` blocks' bytes by the first block read
        self._local = threading.local()

    @property
    def buffers(self):
        """How many blocks can be in hand at once (read, not yet written)."""
        return self.pool.count

    def _into(self, shape, dtype):
        """This thread's buffer for the block (taken once, also when the request is retried)."""
        buf = getattr(self._local, "buf", None)
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if buf is None or buf.nbytes < nbytes:
            self.release()
            buf = self._local.buf = self.pool.take(nbytes)
        return buf[:nbytes].view(dtype).reshape(shape)

    def release(self):
        """The calling thread is done with the block it read last."""
        buf = self.detach()
        if buf is not None:
            self.pool.give(buf)

    def detach(self):
        """The buffer of the block the calling thread read last, handed over (to the thread writing the
        block, which gives it back); the calling thread takes another one for its next block."""
        buf = getattr(self._local, "buf", None)
        self._local.buf = None
        return buf

    def give(self, buf):
        """A detached buffer back to the pool, its block written."""
        self.pool.give(buf)

    def close(self):
        """The job is over: its buffers serve the next one (BufferPool.retire)."""
        self.release()
        self.pool.retire()

    def __call__(self, task):
        spec, block = self.spec, task.block
        t = block.t if spec.time_range else None
        voxels = int(np.prod(block.shape_zyx)) * (t[1] - t[0] if t else 1)
        nbytes = voxels * np.dtype(task.channel.datatype).itemsize
        self.room.grow(self.bodies * nbytes)
        try:
            data = bossdb.read_cutout(self.session, spec.collection, spec.experiment, task.channel.name,
                                      task.channel.datatype, spec.resolution, block.x, block.y, block.z, t,
                                      into=self._into, room=self.room)
        except BaseException:
            self.release()
            raise
        block_bytes = self.room.nbytes / self.bodies  # the largest block's, as the room grew to it
        if self.room.largest * 2 >= block_bytes and self.pool.count > LARGE_ANSWER_BUFFERS:
            self.pool.limit(LARGE_ANSWER_BUFFERS)
        return data[0] if t else data


_writing = threading.local()  # in a fetch_all write thread: the offer of the block being written (hold())
KEPT_AT_ONCE = 1  # blocks whose buffers writes keep at once (hold()): the readers always have one left


def hold():
    """From inside a fetch_all write: keep the block's buffer (its array stays valid) after the write returns,
    until the release() this returns is called (from any thread, once per hold()) with the block on disk;
    the block counts as finished then. None when it can't be kept: not in a fetch_all write, a reader
    without buffers to hand over, or KEPT_AT_ONCE other blocks kept already (the readers must keep a buffer
    to decode the blocks a kept one waits for). The TIFF writers keep a block narrower than the box until
    the blocks beside it come, to write their rows together (cutouts.pipeline.writers.bands)."""
    offer = getattr(_writing, "offer", None)
    return offer() if offer is not None else None


class _Kept:
    """A block in a write thread's hands and its buffer, kept while hold()s of it are outstanding."""

    def __init__(self, task, buf):
        self.task, self.buf, self.holds, self.returned = task, buf, 0, False


def fetch_all(tasks, read, write, *, concurrency=3, on_done=None, wait=True, name="fetch", thread_exit=None):
    """Run every task: `read(task)` -> array, then `write(task, array)`, `concurrency` of each at a time.

    Reading and writing are separate threads (write-behind): a reader hands its block over and sends the
    next request at once instead of waiting for the block to land on disk, so BOSS keeps `concurrency`
    requests in hand while blocks are written. A `read` with detach() and give() (BlockReader) gives each
    block's buffer to the writer with it, and gets it back once the block is written: memory stays
    bounded by the reader's buffers. A task is reported to on_done() only once its write returned.

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
    # Blocks read and not yet written; bounded, for readers without a buffer pool to bound them.
    to_write = queue.Queue(maxsize=max(1, concurrency))
    detach, give = getattr(read, "detach", None), getattr(read, "give", None)
    if detach is None or give is None:
        detach = give = None
    readers_left = [min(max(1, concurrency), len(pending))]
    count = threading.Lock()

    def thread(body):
        def run():
            try:
                body()
            finally:
                if thread_exit is not None:
                    thread_exit()
        return run

    def reader():
        try:
            while not stop.is_set():
                with take:
                    if not pending:
                        return
                    task = pending.popleft()
                try:
                    data = read(task)
                except BossError as exc:
                    finished.put((task, BlockFailed(task, exc)))
                    return
                except BaseException as exc:  # handed to the calling thread, which raises it
                    finished.put((task, exc))
                    return
                held = detach() if detach is not None else None
                to_write.put((task, data, held))
                # Nothing of the block stays with this thread while it waits for its next answer: a buffer
                # the pool lets go (one too small for a later block) is then unmapped at once.
                del data, held
        finally:
            with count:
                readers_left[0] -= 1
                last = readers_left[0] == 0
            if last:
                for _ in writers:
                    to_write.put(None)  # no more blocks: each writer ends

    kept = []  # the _Kept blocks with hold()s outstanding
    kept_lock = threading.Lock()

    def offer(block):
        def take():
            with kept_lock:
                if stop.is_set():
                    return None
                if block.holds == 0:
                    if len(kept) >= KEPT_AT_ONCE or (getattr(read, "buffers", 0) or 0) < 2:
                        return None
                    kept.append(block)
                block.holds += 1
            return lambda: release(block)
        return take

    def release(block):
        with kept_lock:
            block.holds -= 1
            if block.holds == 0:
                kept.remove(block)
            done = block.holds == 0 and block.returned
        if done:  # on disk after its write returned: it is finished now, and its buffer serves another block
            finished.put((block.task, None))
            give(block.buf)

    def returned(block):
        """The block's write returned: True while hold()s of it are outstanding (release() finishes it)."""
        with kept_lock:
            block.returned = True
            return block.holds > 0

    def writer():
        while (item := to_write.get()) is not None:
            task, data, held = item
            block, keep = _Kept(task, held), False
            _writing.offer = offer(block) if held is not None else None
            try:
                if not stop.is_set():  # failed or cancelled meanwhile: nothing more is written
                    write(task, data)
                    keep = returned(block)
                    if not keep:
                        finished.put((task, None))
            except BaseException as exc:  # handed to the calling thread, which raises it
                keep = returned(block)
                finished.put((task, exc))
                stop.set()
            finally:
                _writing.offer = None
                del data, item
                if held is not None and not keep:
                    give(held)  # the buffer serves another block
                del held

    remaining = len(pending)
    threads = readers_left[0]
    # No more writers than blocks can be in hand at once: a writer's own memory (the OME-Zarr writer's chunk
    # and level-1 buffers, ~10 MB) is then kept by as many threads as write at the same time.
    held_at_once = getattr(read, "buffers", None) if detach is not None else None
    writing = min(threads, held_at_once or threads)
    writers = [threading.Thread(target=thread(writer), name=f"{name}-write-{i}", daemon=True) for i in range(writing)]
    readers = [threading.Thread(target=thread(reader), name=f"{name}-{i}", daemon=True) for i in range(threads)]
    for t in writers + readers:
        t.start()
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
        stop.set()  # the readers finish the request in hand, the writers write nothing more
        if wait:
            for t in readers + writers:
                t.join()
