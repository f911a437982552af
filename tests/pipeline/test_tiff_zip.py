"""The uncompressed TIFF ZIP, each channel's TIFF written in place as its member: every reader opens it, voxel
for voxel; nothing else is left in the folder; a job cut short goes on where it stopped."""
import io
import os
import zipfile
from datetime import datetime, timezone

import numpy as np
import pytest
import tifffile

from bossdb.geometry import Box
from cutouts.pipeline import writers
from cutouts.pipeline.fetch import fetch_all
from cutouts.pipeline.plan import plan_blocks
from cutouts.pipeline.provenance import provenance
from cutouts.pipeline.writers import tiff, tiffzip
from cutouts.pipeline.writers.zipstream import HEADER
from tests.pipeline.test_bands import PoolReader
from tests.pipeline.test_pipeline import EM, SEG, expected, read, spec

ALIGNED = Box((0, 1024), (0, 64), (0, 32))  # whole rows of 64 KiB planes: written with O_DIRECT where possible


def job_for(tmp_path, s, reader=read, done=None):
    return writers.Production(
        spec=s, folder=tmp_path, box=s.box, blocks={ch.name: plan_blocks(s.box, ch.datatype, 64 * 1024) for ch in s.channels},
        fetch=lambda tasks, write: fetch_all(tasks, reader, write, concurrency=2),
        sidecar=lambda files: provenance(s, files, datetime.now(timezone.utc), job_id="j"),
        ids=writers.ObjectIds([c.name for c in s.channels if c.is_annotation]), done=done)


def member_start(path, info):
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = HEADER.unpack(f.read(HEADER.size))
    return info.header_offset + HEADER.size + head[zipfile._FH_FILENAME_LENGTH] + head[zipfile._FH_EXTRA_FIELD_LENGTH]


@pytest.mark.parametrize("direct", [True, False])
def test_each_channel_s_tiff_is_its_member_voxel_for_voxel(tmp_path, monkeypatch, direct):
    monkeypatch.setattr(tiff, "DIRECT_WRITES", direct)
    s = spec((EM, SEG), "tiff-zip", ALIGNED)
    name, sidecar = writers.FORMATS["tiff-zip"].produce(job_for(tmp_path, s))
    assert os.listdir(tmp_path) == [name]  # no TIFF beside it, no part
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert zf.testzip() is None  # every member's CRC matches its bytes
        assert zf.namelist() == ["c_e_em_r0_x0-1024_y0-64_z0-32.tif", "c_e_seg_r0_x0-1024_y0-64_z0-32.tif",
                                 "provenance.json", "objects.csv"]
        for channel in (EM, SEG):
            member = f"c_e_{channel.name}_r0_x0-1024_y0-64_z0-32.tif"
            with tifffile.TiffFile(io.BytesIO(zf.read(member))) as tif:
                assert np.array_equal(tif.asarray(), expected(channel, ALIGNED))
            assert member_start(tmp_path / name, zf.getinfo(member)) % 4096 == 0  # on a page, for O_DIRECT
        assert zf.read("provenance.json").decode() == sidecar
    with zipfile.ZipFile(tmp_path / name) as zf, zf.open("c_e_em_r0_x0-1024_y0-64_z0-32.tif") as f:
        with tifffile.TiffFile(f) as tif:  # read in place, as napari and tifffile read a member
            assert 'PhysicalSizeZ="40.0"' in tif.ome_metadata


@pytest.mark.parametrize("across", [2, 4])
def test_bands_of_part_rows_give_their_crc_without_reading_the_tiff_back(tmp_path, monkeypatch, across):
    # Blocks 512 wide. Two side by side: each band gathered and its CRC kept. Four: one block may be kept, so
    # every band goes row by row, and is read back for the CRC.
    box = Box((0, 512 * across), (0, 64), (0, 32))
    s = spec((EM, SEG), "tiff-zip", box)
    read_back, real = [], tiffzip.region_crc
    monkeypatch.setattr(tiffzip, "region_crc", lambda path, a, b: read_back.append(b - a) or real(path, a, b))
    blocks = {ch.name: plan_blocks(box, ch.datatype, 16 * 512 * 512 * np.dtype(ch.datatype).itemsize,
                                   row_factor=1) for ch in s.channels}
    assert all(b.x[1] - b.x[0] == 512 for each in blocks.values() for b in each)
    job = writers.Production(
        spec=s, folder=tmp_path, box=box, blocks=blocks,
        fetch=lambda tasks, write: fetch_all(tasks, PoolReader(read=read), write, concurrency=1),
        sidecar=lambda files: provenance(s, files, datetime.now(timezone.utc), job_id="j"),
        ids=writers.ObjectIds(["seg"]))
    name, _ = writers.FORMATS["tiff-zip"].produce(job)
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert zf.testzip() is None
        for channel in (EM, SEG):
            member = f"c_e_{channel.name}_r0_x0-{512 * across}_y0-64_z0-32.tif"
            assert np.array_equal(tifffile.imread(io.BytesIO(zf.read(member))), expected(channel, box))
    voxels = sum(box.x[1] * box.y[1] * box.z[1] * np.dtype(c.datatype).itemsize for c in (EM, SEG))
    if across == 2:
        assert sum(read_back) < voxels / 100  # headers and directories only, not the rows
    else:
        assert sum(read_back) > voxels


def test_a_job_cut_short_goes_on_where_it_stopped(tmp_path):
    s = spec((EM, SEG), "tiff-zip", ALIGNED)
    seg_blocks = plan_blocks(ALIGNED, "uint64", 64 * 1024)
    done, fetched = set(), []

    def crashing(task):
        if task.channel.name == "seg" and len([t for t in fetched if t.channel.name == "seg"]) >= len(seg_blocks) // 2:
            raise RuntimeError("the worker was killed")
        fetched.append(task)
        return read(task)

    first = job_for(tmp_path, s, crashing, done=done)

    def recording(tasks, write):  # the engine records a block once it is written
        def record(task, data):
            write(task, data)
            done.add(writers.done_key(task.channel.name, task.block))
        return fetch_all(tasks, crashing, record, concurrency=1)
    first.fetch = recording
    with pytest.raises(RuntimeError):
        writers.FORMATS["tiff-zip"].produce(first)
    name = "c_e_r0_x0-1024_y0-64_z0-32.zip"
    assert (tmp_path / (name + ".part")).exists() and not (tmp_path / name).exists()
    missing = {b.key for b in seg_blocks} - {key.split("/", 1)[1] for key in done if key.startswith("seg/")}
    assert 0 < len(missing) < len(seg_blocks) and all(f"em/{b.key}" in done for b in plan_blocks(ALIGNED, "uint8", 64 * 1024))
    before = len(fetched)
    again = job_for(tmp_path, s, lambda task: fetched.append(task) or read(task), done=set(done))
    got, _ = writers.FORMATS["tiff-zip"].produce(again)
    assert got == name and os.listdir(tmp_path) == [name]
    assert {(t.channel.name, t.block.key) for t in fetched[before:]} == {("seg", k) for k in missing}  # no more
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert zf.testzip() is None
        for channel in (EM, SEG):
            member = f"c_e_{channel.name}_r0_x0-1024_y0-64_z0-32.tif"
            assert np.array_equal(tifffile.imread(io.BytesIO(zf.read(member))), expected(channel, ALIGNED))


@pytest.mark.parametrize("start, end", [(0, 4096), (100, 5000), (4096, 4097), (12345, 3 * 65536 + 7)])
def test_a_region_s_crc_is_zlib_s_wherever_it_starts_and_ends(tmp_path, monkeypatch, start, end):
    import zlib

    from cutouts.pipeline.writers import tiffzip, zipstream

    monkeypatch.setattr(zipstream, "COPY_PIECE", 64 * 1024)  # several pieces
    data = np.random.default_rng(end).integers(0, 256, 4 * 65536, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    assert tiffzip.region_crc(tmp_path / "f", start, end) == zlib.crc32(data[start:end])


def test_a_disk_error_while_finishing_says_so_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno

    from cutouts.pipeline.writers import tiffzip

    def full(*_):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(tiffzip, "local_header", full)  # the channels' local headers
    with pytest.raises(writers.WriterError, match="finishing the TIFF ZIP failed: No space left on device"):
        writers.FORMATS["tiff-zip"].produce(job_for(tmp_path, spec((EM, SEG), "tiff-zip", ALIGNED)))
    assert os.listdir(tmp_path) == []
