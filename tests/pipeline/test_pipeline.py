"""The cutout pipeline in process: planning, the fetch loop with a fake reader, each format's files."""
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime, timezone

import numpy as np
import pytest
import tifffile

from bossdb.errors import BossUnavailable
from bossdb.geometry import Box
from cutouts.pipeline import recipes, writers
from cutouts.pipeline.fetch import BlockFailed, Stopped, fetch_all, tasks_for
from cutouts.pipeline.plan import plan_blocks
from cutouts.pipeline.provenance import provenance
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec

EM, SEG = ChannelSpec("em", "uint8", "image"), ChannelSpec("seg", "uint64", "annotation")
BOX = Box((500, 1100), (0, 40), (10, 40))


def source(channel, block):
    """What BOSS would send for a block: a function of the coordinates (and channel)."""
    z, y, x = np.meshgrid(np.arange(*block.z), np.arange(*block.y), np.arange(*block.x), indexing="ij")
    values = x + 3 * y + 7 * z + (1000 if channel.name == "seg" else 0)
    return values.astype(channel.datatype) if channel.datatype != "uint8" else (values % 251).astype(np.uint8)


def spec(channels=(EM,), fmt="ome-tiff", box=BOX):
    return CutoutSpec("http://boss.test", "c", "e", tuple(channels), 0, box, format=fmt,
                      voxel_size=(4.0, 4.0, 40.0))


def read(task):
    return source(task.channel, task.block)


def test_the_fetch_loop_writes_every_block_once_and_counts_them():
    s = spec()
    tasks = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))
    written, counted, lock = [], [], threading.Lock()

    def write(task, data):
        with lock:
            written.append(task.block.key)

    fetch_all(tasks, read, write, concurrency=3, on_done=lambda batch: counted.extend(batch))
    assert sorted(written) == sorted(t.block.key for t in tasks) and len(counted) == len(tasks) > 3


class PooledReader:
    """A reader with a pool of two buffers, like BlockReader: detach() hands the block's buffer to the write."""

    def __init__(self):
        self.lock, self.out, self.most_out, self.local = threading.Lock(), 0, 0, threading.local()
        self.read_started = []

    def __call__(self, task):
        with self.lock:
            self.read_started.append(task.block.key)
            self.out += 1
            self.most_out = max(self.most_out, self.out)
        self.local.buf = object()
        return source(task.channel, task.block)

    def detach(self):
        buf, self.local.buf = self.local.buf, None
        return buf

    def give(self, buf):
        assert buf is not None
        with self.lock:
            self.out -= 1


def test_the_fetch_loop_reads_on_while_blocks_are_written_and_reports_a_block_once_written():
    s = spec()
    tasks = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))
    read, gate, written = PooledReader(), threading.Event(), set()

    def write(task, data):
        gate.wait(10)  # no write ends until the readers have gone on to the next blocks
        written.add(task.block.key)

    def on_done(batch):
        assert {t.block.key for t in batch} <= written  # reported only once written
        return True

    def open_gate():
        while len(read.read_started) < 5:
            time.sleep(0.001)
        gate.set()

    opener = threading.Thread(target=open_gate)
    opener.start()
    fetch_all(tasks, read, write, concurrency=3, on_done=on_done)
    opener.join()
    assert written == {t.block.key for t in tasks} and read.out == 0  # every buffer given back
    assert read.most_out >= 5  # 3 blocks held by writes while the readers read 2 more


def test_no_more_blocks_are_written_at_once_than_the_reader_has_buffers():
    s = spec()
    tasks = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))
    read, names = PooledReader(), set()
    read.buffers = 2

    def write(task, data):
        names.add(threading.current_thread().name)
        time.sleep(0.005)

    fetch_all(tasks, read, write, concurrency=3, name="t")
    assert len(tasks) > 3 and 1 <= len(names) <= 2 and read.out == 0  # two writer threads for two buffers


def test_a_block_reader_lets_boss_s_answers_hold_one_block_s_bytes_at_once():
    import bossdb
    from bossdb.api import cutout_route
    from cutouts.pipeline.fetch import BlockReader
    from tests.bossdb.fake import FakeBoss, blosc_answer

    s = spec()
    task = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))[0]
    b = task.block
    fake = FakeBoss({cutout_route("c", "e", "em", 0, b.x, b.y, b.z): blosc_answer(source(EM, b))})
    reader = BlockReader(bossdb.Session("http://boss.test", bossdb.Credential("Token", "t"), transport=fake), s)
    np.testing.assert_array_equal(reader(task), source(EM, b))
    assert reader.room.nbytes == int(np.prod(b.shape_zyx)) and reader.room.held == 0
    reader.close()


@pytest.mark.parametrize("weight, buffers", [(0.05, 3), (0.6, 2), (None, 2)], ids=["smooth", "real-EM", "unknown"])
def test_answers_of_half_a_block_or_more_take_the_place_of_the_third_block_buffer(weight, buffers):
    """The answers and the block buffers share one budget: answers as large as real EM's (or of unknown
    length) leave the reader two buffers; devboss's smooth answers leave it three."""
    import bossdb
    from bossdb.api import cutout_route
    from cutouts.pipeline.fetch import BlockReader
    from tests.bossdb.fake import Answer, FakeBoss, blosc_answer

    s = spec()
    tasks = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))
    routes = {}
    for task in tasks:
        b = task.block
        answer = blosc_answer(source(EM, b))
        if weight is not None:  # a Content-Length saying the body weighs `weight` of its block
            answer = Answer(content=answer.content,
                            headers={"Content-Length": str(max(1, int(weight * np.prod(b.shape_zyx))))})
        routes[cutout_route("c", "e", "em", 0, b.x, b.y, b.z)] = answer
    reader = BlockReader(bossdb.Session("http://boss.test", bossdb.Credential("Token", "t"),
                                        transport=FakeBoss(routes)), s, buffers=3)
    got = []
    fetch_all(tasks, reader, lambda task, data: got.append(np.array_equal(data, source(EM, task.block))))
    assert len(got) == len(tasks) and all(got)
    assert reader.buffers == buffers and reader.pool.made <= buffers
    reader.close()


def test_the_fetch_loop_stops_when_told_and_reports_boss_failures():
    s = spec()
    tasks = tasks_for(s, lambda ch: plan_blocks(s.box, ch.datatype, 64 * 1024))
    with pytest.raises(Stopped):
        fetch_all(tasks, read, lambda t, d: None, on_done=lambda batch: False)

    def failing(task):
        raise BossUnavailable("simulated")

    with pytest.raises(BlockFailed) as caught:
        fetch_all(tasks, failing, lambda t, d: None)
    assert caught.value.task in tasks and caught.value.error.message == "simulated"


def produce(tmp_path, s):
    box = s.box
    job = writers.Production(
        spec=s, folder=tmp_path, box=box, blocks={ch.name: plan_blocks(box, ch.datatype, 64 * 1024) for ch in s.channels},
        fetch=lambda tasks, write: fetch_all(tasks, read, write, concurrency=2),
        sidecar=lambda files: provenance(s, files, datetime.now(timezone.utc), job_id="j"),
        ids=writers.ObjectIds([c.name for c in s.channels if c.is_annotation]),
    )
    return writers.FORMATS[s.format].produce(job)


def expected(channel, box):
    from bossdb.geometry import Block

    return source(channel, Block(0, box.x, box.y, box.z, (0, 1)))


def test_an_ome_tiff_holds_the_box_voxel_for_voxel_with_its_calibration(tmp_path):
    name, sidecar = produce(tmp_path, spec())
    assert name == "c_e_em_r0_x500-1100_y0-40_z10-40.ome.tif"
    with tifffile.TiffFile(tmp_path / name) as tif:
        assert np.array_equal(tif.asarray(), expected(EM, BOX))
        assert 'PhysicalSizeZ="40.0"' in tif.ome_metadata
    doc = json.loads(sidecar)
    assert doc["files"] == [name] and doc["box_voxels"]["x"] == [500, 1100] and doc["job"] == "j"


@pytest.mark.parametrize("direct", [True, False])
def test_results_go_through_the_page_cache_when_direct_writes_are_turned_off(tmp_path, monkeypatch, direct):
    from cutouts.pipeline.writers import tiff

    monkeypatch.setattr(tiff, "DIRECT_WRITES", direct)
    probe = tmp_path / "probe"
    probe.touch()
    fd = tiff.open_direct(probe)
    if fd is not None:  # None too where the file system has no O_DIRECT (tmpfs)
        os.close(fd)
    assert direct or fd is None
    aligned = Box((0, 1024), (0, 64), (0, 32))  # 64 KiB planes of whole rows: O_DIRECT unless turned off
    name, _ = produce(tmp_path, spec(box=aligned))
    assert np.array_equal(tifffile.imread(tmp_path / name), expected(EM, aligned))


def test_direct_writes_are_turned_off_by_the_environment_only_when_asked():
    code = "from cutouts.pipeline.writers import tiff; print(tiff.DIRECT_WRITES)"
    seen = {value: subprocess.run([sys.executable, "-c", code], env={**os.environ, "CUTOUT_DIRECT_WRITES": value},
                                  capture_output=True, text=True, check=True).stdout.strip()
            for value in ("0", "off", "1", "")}
    assert seen == {"0": "False", "off": "False", "1": "True", "": "True"}


def test_a_tiff_zip_has_one_file_per_channel_and_the_object_ids(tmp_path):
    name, _ = produce(tmp_path, spec((EM, SEG), "tiff-zip"))
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert sorted(zf.namelist()) == ["c_e_em_r0_x500-1100_y0-40_z10-40.tif", "c_e_seg_r0_x500-1100_y0-40_z10-40.tif",
                                         "objects.csv", "provenance.json"]
        ids = zf.read("objects.csv").decode().split()[1:]
    assert len(ids) == len(np.unique(expected(SEG, BOX)))


def test_layout_questions_are_answered_by_each_format():
    mixed = [EM, ChannelSpec("fluo", "uint16")]
    assert "different datatypes" in writers.FORMATS["ome-tiff"].layout_problem(mixed)
    assert "ImageJ TIFF holds one" in writers.FORMATS["imagej-tiff"].layout_problem(mixed)
    assert writers.FORMATS["tiff-zip"].layout_problem(mixed) is None
    assert writers.FORMATS["ome-zarr"].layout_problem([EM, SEG]) is None


def test_the_layout_questions_need_no_writer_module():
    # Validation asks them in the web processes; each format's writer (tifffile, zarr's chunks, the compressors)
    # is imported when a result of that format is made (the worker imports them all before it forks).
    code = ("import sys; from cutouts.pipeline import writers; from cutouts.pipeline.spec import ChannelSpec; "
            "em, fluo = ChannelSpec('em', 'uint8', 'image'), ChannelSpec('fluo', 'uint16', 'image'); "
            "print([bool(f.layout_problem([em, fluo])) for f in writers.FORMATS.values()]); "
            "print(sorted(m for m in sys.modules if m in ('tifffile', 'zarr', 'imagecodecs', 'zstandard', 'isal') "
            "or m.startswith('cutouts.pipeline.writers.') and m.rsplit('.', 1)[1] not in ('base', 'ngff')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split("\n")[:2] == ["[True, False, True, True]", "[]"]


def test_a_third_block_buffer_only_where_the_writer_writes_straight_from_the_buffers():
    from cutouts.pipeline.plan import whole_rows

    for fmt in ("ome-tiff", "imagej-tiff", "tiff-zip"):
        assert writers.block_buffers(fmt, "none") == 3
        assert writers.block_buffers(fmt, "none", whole_rows=False) == 2  # part rows: the page cache bounds them
        assert writers.block_buffers(fmt, "deflate") == 2  # compressed segments are held besides the blocks
    for compression in ("none", "lz4", "zstd"):
        assert writers.block_buffers("ome-zarr", compression) == 2  # chunks and level 1 are held besides
    assert whole_rows(Box((0, 4096), (0, 4096), (0, 64)), "uint8", 16 * 2**20)
    assert not whole_rows(Box((0, 8192), (0, 4096), (0, 64)), "uint8", 16 * 2**20)
    assert not whole_rows(Box((0, 1024), (0, 1024), (100, 212)), "uint64", 16 * 2**20)  # one cuboid each


def test_a_job_leaves_its_block_buffers_to_the_next_one_and_no_more_than_that_one_takes():
    from cutouts.pipeline import fetch

    fetch._spares.clear()  # what earlier downloads in this process left
    first = fetch.BufferPool(3)
    bufs = [first.take(1 << 20) for _ in range(3)]
    for b in bufs:
        first.give(b)
    first.retire()
    second = fetch.BufferPool(2)  # takes two of the three, the third is let go
    assert fetch._spares == []
    got = [second.take(1 << 20), second.take(1 << 20)]
    assert {id(b) for b in got} <= {id(b) for b in bufs}
    assert all(b.ctypes.data % 4096 == 0 for b in got)
    for b in got:
        second.give(b)
    bigger = second.take(2 << 20)  # too small: replaced, the pool still holds no more than its count
    assert bigger.nbytes == 2 << 20 and second.made == 2
    second.give(bigger)
    second.retire()
    third = fetch.BufferPool(2)
    assert sorted(b.nbytes for b in third.free) == [1 << 20, 2 << 20] and third.made == 2
    third.retire()
    fetch.BufferPool(1).retire()  # what is left is what the last pool held
    assert [b.nbytes for b in fetch._spares] == [2 << 20]
    fetch._spares.clear()


def test_block_buffers_are_advised_for_huge_pages():
    """The kernel may back them with 2 MiB pages: 16 page faults for a 32 MiB buffer instead of 8,192, and
    cheaper pinning for each O_DIRECT write from it (VmFlags "hg": MADV_HUGEPAGE, whatever the system's
    THP setting)."""
    from cutouts.pipeline import fetch

    pool = fetch.BufferPool(1)
    buf = pool.take(4 << 20)
    start = buf.ctypes.data
    flags = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and ":" not in head:  # a mapping's first line: start-end perms ...
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= start < hi
            elif head == "VmFlags:" and inside:
                flags = line.split()[1:]
    assert flags is not None and "hg" in flags
    pool.give(buf)


def test_recipes_and_the_command_line_name_the_box():
    s = spec((EM, SEG))
    assert recipes.rest_url(s, "em") == "http://boss.test/v1/cutout/c/e/em/0/500:1100/0:40/10:40/"
    assert recipes.command_line(s.boss_url, "c", "e", ["em", "seg"], 0, (0, 8), (0, 8), (0, 16)) == (
        "boss-cutout bossdb://c/e/em,seg --res 0 -x 0:8 -y 0:8 -z 0:16 --boss-url http://boss.test "
        "--out c_e_em+seg_r0_x0-8_y0-8_z0-16 --token-file ~/.boss-token")
    titles = [r["title"] for r in recipes.snippets(s, "http://portal.test/")]
    assert titles[-1] == "this portal's JSON API (same job)" and len(titles) == 7
