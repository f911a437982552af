"""Blocks narrower than the TIFF, kept until the blocks beside them come and written with them as whole rows
(cutouts/pipeline/writers/bands.py, cutouts.pipeline.fetch.hold)."""
import os
import threading

import numpy as np
import pytest
import tifffile

from bossdb.geometry import Box, calibration
from cutouts.pipeline.fetch import BufferPool, Stopped, Task, fetch_all, hold
from cutouts.pipeline.plan import plan_blocks
from cutouts.pipeline.spec import ChannelSpec
from cutouts.pipeline.writers import bands
from cutouts.pipeline.writers.tiff import VolumeTiff

CAL = calibration((4, 4, 40), "nanometers", 0)


class PoolReader:
    """What BlockReader hands the fetch loop: each block (of `volume`, or `read(task)`) decoded into a buffer of
    a BufferPool, detached to the write and given back after it."""

    def __init__(self, volume=None, buffers=2, read=None):
        self.volume, self.read, self.pool, self.local = volume, read, BufferPool(buffers), threading.local()

    @property
    def buffers(self):
        return self.pool.count

    def __call__(self, task):
        b = task.block
        part = self.read(task) if self.read else self.volume[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]]
        self.local.buf = self.pool.take(part.nbytes)
        out = self.local.buf[:part.nbytes].view(part.dtype).reshape(part.shape)
        out[...] = part
        return out

    def detach(self):
        buf, self.local.buf = self.local.buf, None
        return buf

    def give(self, buf):
        self.pool.give(buf)


def blocks_of(volume, width):
    z, y, x = volume.shape
    box = Box((0, x), (0, y), (0, z))
    blocks = plan_blocks(box, volume.dtype, max_bytes=16 * 512 * width * volume.dtype.itemsize, row_factor=1)
    assert all(b.shape_zyx[2] < x for b in blocks)  # part rows
    return [Task(0, ChannelSpec("em", str(volume.dtype)), b) for b in blocks]


@pytest.mark.parametrize("shape, dtype", [((16, 128, 8192), np.uint8), ((16, 96, 1000), np.uint16)])
def test_part_row_blocks_are_written_with_their_band_and_count_once_their_voxels_are_in(tmp_path, monkeypatch,
                                                                                         shape, dtype):
    volume = np.random.default_rng(3).integers(0, 60000, shape).astype(dtype)
    tasks = blocks_of(volume, shape[2] // 2)
    path = tmp_path / "a.ome.tif"
    rows = []
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, at: rows.append(len(data)) or real_pwrite(fd, data, at))
    with VolumeTiff(path, shape, dtype, CAL, flavour="ome") as out:
        on_disk = np.memmap(out.tmp_path, dtype=dtype, mode="r", offset=out.offset, shape=shape)

        def written(batch):  # each block reported is in the file by then
            for task in batch:
                b = task.block
                np.testing.assert_array_equal(on_disk[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]],
                                              volume[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]])

        def write(task, data):
            b = task.block
            out.write_block(data, b.z[0], b.y[0], b.x[0])

        fetch_all(tasks, PoolReader(volume), write, concurrency=1, on_done=written)
        del on_disk
    assert rows == []  # one reader: every band whole, no row written alone
    np.testing.assert_array_equal(tifffile.imread(path), volume)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_band_wider_than_the_gather_buffer_goes_out_a_few_rows_at_a_time(tmp_path, monkeypatch, dtype):
    volume = np.random.default_rng(5).integers(0, 60000, (16, 100, 4096)).astype(dtype)
    monkeypatch.setattr(bands, "GATHER_BYTES", 7 * 4096 * volume.dtype.itemsize)  # 7 rows: 100 = 14 x 7 + 2
    path = tmp_path / "a.ome.tif"
    with VolumeTiff(path, volume.shape, dtype, CAL, flavour="ome") as out:
        fetch_all(blocks_of(volume, 2048), PoolReader(volume),
                  lambda t, d: out.write_block(d, t.block.z[0], t.block.y[0], t.block.x[0]), concurrency=1)
    np.testing.assert_array_equal(tifffile.imread(path), volume)


def test_bands_whose_blocks_cannot_all_be_kept_go_row_by_row_and_land_in_place(tmp_path):
    volume = np.random.default_rng(4).integers(0, 255, (32, 128, 4096), dtype=np.uint8)
    tasks = blocks_of(volume, 1024)  # four blocks across: one may be kept, so every band goes row by row
    path = tmp_path / "a.ome.tif"
    with VolumeTiff(path, volume.shape, np.uint8, CAL, flavour="ome") as out:
        fetch_all(tasks, PoolReader(volume), lambda t, d: out.write_block(d, t.block.z[0], t.block.y[0],
                                                                          t.block.x[0]), concurrency=3)
    np.testing.assert_array_equal(tifffile.imread(path), volume)


def test_a_stop_while_a_block_is_kept_ends_the_fetch(tmp_path):
    volume = np.zeros((16, 64, 2048), np.uint8)
    tasks = blocks_of(volume, 1024)
    with VolumeTiff(tmp_path / "a.ome.tif", volume.shape, np.uint8, CAL, flavour="ome") as out:
        kept = threading.Event()

        def write(task, data):
            out.write_block(data, task.block.z[0], task.block.y[0], task.block.x[0])
            kept.set()

        result = []

        def run():
            try:
                fetch_all(tasks, PoolReader(volume), write, concurrency=2, on_done=lambda batch: False)
            except Stopped:
                result.append("stopped")

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(20)
        assert not thread.is_alive() and result == ["stopped"] and kept.is_set()


def test_hold_outside_a_fetch_write_keeps_nothing():
    assert hold() is None
