import os

import numpy as np
import pytest
import tifffile

from cutouts.pipeline.plan import Box, plan_blocks
from bossdb.geometry import calibration
from cutouts.pipeline.writers.base import WriterError
from cutouts.pipeline.writers.tiff import VolumeTiff


def fill(path, data, flavour, cal, **kw):
    box = Box((0, data.shape[-1]), (0, data.shape[-2]), (0, data.shape[-3]))
    with VolumeTiff(path, data.shape[-3:], data.dtype, cal, flavour=flavour, **kw) as out:
        for b in plan_blocks(box, data.dtype, max_bytes=512 * 512 * 16):
            out.write_block(data[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]], b.z[0], b.y[0], b.x[0])
    return out


def test_calibration_doubles_xy_per_level_and_keeps_z_when_anisotropic():
    cal = calibration((4, 4, 40), "nanometers", 2)
    assert (cal.x, cal.y, cal.z, cal.symbol) == (16.0, 16.0, 40.0, "nm")
    assert calibration((4, 4, 40), "nanometers", 2, "isotropic").z == 160.0


def test_an_ome_tiff_holds_the_voxels_and_the_physical_size(tmp_path):
    data = np.random.default_rng(1).integers(0, 65535, (20, 700, 1100), dtype=np.uint16)
    out = fill(tmp_path / "a.ome.tif", data, "ome", calibration((4, 4, 40), "nanometers", 1))
    assert not os.path.exists(out.tmp_path)
    with tifffile.TiffFile(tmp_path / "a.ome.tif") as tif:
        assert tif.is_ome
        np.testing.assert_array_equal(tif.asarray(), data)
        ome = tif.ome_metadata
        for attr in ('PhysicalSizeX="8.0"', 'PhysicalSizeY="8.0"', 'PhysicalSizeZ="40.0"', 'PhysicalSizeXUnit="nm"'):
            assert attr in ome
        x_res = tif.pages[0].tags["XResolution"].value
        assert x_res[0] / x_res[1] == pytest.approx(1 / 8e-7)


def test_an_imagej_tiff_carries_spacing_and_unit_for_fiji(tmp_path):
    data = np.arange(3 * 40 * 50, dtype=np.uint8).reshape(3, 40, 50)
    fill(tmp_path / "a.tif", data, "imagej", calibration((0.5, 0.5, 2.0), "micrometers", 0))
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        np.testing.assert_array_equal(tif.asarray(), data)
        assert tif.imagej_metadata["spacing"] == 2.0
        assert tif.imagej_metadata["unit"] == "micron"
        x_res = tif.pages[0].tags["XResolution"].value
        assert x_res[0] / x_res[1] == pytest.approx(2.0)


def test_uint64_labels_are_kept_exactly_in_a_plain_tiff(tmp_path):
    data = (np.arange(4 * 30 * 30, dtype=np.uint64).reshape(4, 30, 30) + 2**40)
    out = fill(tmp_path / "seg.tif", data, "ome", calibration((4, 4, 40), "nanometers", 0))
    assert out.flavour == "tiff"
    with tifffile.TiffFile(tmp_path / "seg.tif") as tif:
        np.testing.assert_array_equal(tif.asarray(), data)
        assert tif.shaped_metadata[0]["voxel_size"] == [4.0, 4.0, 40.0]


@pytest.mark.parametrize("flavour, dtype", [("imagej", np.uint8), ("tiff", np.uint64)])
def test_the_slices_of_a_stack_are_made_from_one_layout_byte_for_byte_as_tifffile_makes_each(tmp_path, flavour, dtype):
    from cutouts.pipeline.writers import tiff

    cal = calibration((4, 4, 40), "nanometers", 0)
    tiff._layouts.clear()
    first = fill(tmp_path / "z0.tif", np.zeros((1, 40, 50), dtype), flavour, cal, plane=True, resume=True)
    assert len(tiff._layouts) == 1  # the second slice is written from it, not made by tifffile
    data = np.arange(40 * 50, dtype=dtype).reshape(1, 40, 50)
    fill(tmp_path / "z1.tif", data, flavour, cal, plane=True, resume=True)
    tiff._layouts.clear()
    fill(tmp_path / "made.tif", data, flavour, cal, plane=True, resume=True)
    assert (tmp_path / "z1.tif").read_bytes() == (tmp_path / "made.tif").read_bytes()
    assert first.offset % 4096 == 0
    with tifffile.TiffFile(tmp_path / "z1.tif") as tif:
        np.testing.assert_array_equal(tif.asarray(), data[0])


def test_each_ome_tiff_keeps_its_own_uuid(tmp_path):
    from cutouts.pipeline.writers import tiff

    cal = calibration((4, 4, 40), "nanometers", 0)
    uuids = []
    for name in ("a.ome.tif", "b.ome.tif"):
        fill(tmp_path / name, np.ones((2, 30, 30), np.uint8), "ome", cal)
        with tifffile.TiffFile(tmp_path / name) as tif:
            uuids.append(tif.ome_metadata.split('UUID="', 1)[1].split('"', 1)[0])
    assert uuids[0] != uuids[1] and not any(key[3] == "ome" for key in tiff._layouts)


def test_a_failed_write_leaves_no_file(tmp_path):
    cal = calibration((4, 4, 40), "nanometers", 0)
    with pytest.raises(RuntimeError):
        with VolumeTiff(tmp_path / "x.tif", (2, 8, 8), np.uint8, cal) as out:
            out.write_block(np.ones((1, 8, 8), np.uint8), 0, 0, 0)
            raise RuntimeError("BOSS went away")
    assert os.listdir(tmp_path) == []


def test_a_block_outside_the_volume_is_refused(tmp_path):
    cal = calibration((4, 4, 40), "nanometers", 0)
    with pytest.raises(WriterError, match="does not fit"):
        with VolumeTiff(tmp_path / "x.tif", (2, 8, 8), np.uint8, cal) as out:
            out.write_block(np.ones((1, 8, 8), np.uint8), 2, 0, 0)
    assert os.listdir(tmp_path) == []


def test_multichannel_ome_tiff_keeps_each_channel(tmp_path):
    cal = calibration((4, 4, 40), "nanometers", 0)
    a = np.full((2, 8, 8), 3, np.uint16)
    b = np.full((2, 8, 8), 9, np.uint16)
    with VolumeTiff(tmp_path / "m.ome.tif", (2, 8, 8), np.uint16, cal, channels=2, channel_names=("a", "b")) as out:
        out.write_block(a, 0, 0, 0, c=0)
        out.write_block(b, 0, 0, 0, c=1)
    with tifffile.TiffFile(tmp_path / "m.ome.tif") as tif:
        assert tif.series[0].axes == "CZYX"
        got = tif.asarray()
    np.testing.assert_array_equal(got[0], a)
    np.testing.assert_array_equal(got[1], b)


def test_blocks_written_from_several_threads_with_drop_behind_land_in_place(tmp_path, monkeypatch):
    """The job's fetch threads write their blocks concurrently, while the background write-back drops
    written pages from the page cache (every 1 MiB here): every voxel still ends where it belongs."""
    from concurrent.futures import ThreadPoolExecutor

    from cutouts.pipeline.writers import tiff as writers

    monkeypatch.setattr(writers, "SYNC_EVERY", 1024 * 1024)
    data = np.random.default_rng(7).integers(0, 255, (48, 1100, 1300), dtype=np.uint8)
    box = Box((0, 1300), (0, 1100), (0, 48))
    path = tmp_path / "threads.ome.tif"
    with VolumeTiff(path, data.shape, data.dtype, calibration((4, 4, 40), "nanometers", 0)) as out:
        blocks = plan_blocks(box, data.dtype, max_bytes=512 * 512 * 16)
        assert len(blocks) > 8

        def put(b):
            out.write_block(data[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]], b.z[0], b.y[0], b.x[0])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, reversed(blocks)))  # out of file order, four at a time
    np.testing.assert_array_equal(tifffile.imread(path), data)


def test_rows_narrower_than_the_file_leave_the_page_cache_only_once_every_block_beside_them_is_in(tmp_path,
                                                                                                   monkeypatch):
    """A box wider than a block is written in part rows, a page of which the blocks beside it share. Each band
    of rows is handed to drop-behind once, when its last block is in, and never sooner: what the file holds
    in those rows at that moment is already the final data."""
    from concurrent.futures import ThreadPoolExecutor

    from cutouts.pipeline.writers import tiff as writers

    data = np.random.default_rng(11).integers(0, 255, (32, 1100, 1300), dtype=np.uint8)
    box = Box((0, 1300), (0, 1100), (0, 32))
    blocks = plan_blocks(box, data.dtype, max_bytes=512 * 512 * 16)
    assert all(b.x != box.x for b in blocks)  # part rows only
    path = tmp_path / "narrow.ome.tif"
    advised, early = [], []
    real = writers.advise_dontneed

    def record(fd, ranges):
        for offset, length in ranges:
            advised.append((offset, length))
            with open(out.tmp_path, "rb") as f:
                got = np.frombuffer(os.pread(f.fileno(), length, offset), np.uint8)
            rows = (offset - out.offset) // 1300
            want = data.reshape(-1, 1300)[rows:rows + length // 1300].ravel()
            if not np.array_equal(got, want):
                early.append((offset, length))
        real(fd, ranges)

    monkeypatch.setattr(writers, "advise_dontneed", record)
    with VolumeTiff(path, data.shape, data.dtype, calibration((4, 4, 40), "nanometers", 0)) as out:
        def put(b):
            out.write_block(data[b.z[0]:b.z[1], b.y[0]:b.y[1], b.x[0]:b.x[1]], b.z[0], b.y[0], b.x[0])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, reversed(blocks)))
        bands = {(b.z, b.y) for b in blocks}
        band_ranges = sum((b.z[1] - b.z[0]) for b in blocks if b.x[0] == 0)
        assert len(set(advised)) == band_ranges == sum(z1 - z0 for (z0, z1), _ in bands)
        assert not early
        assert out._bands == {}
    np.testing.assert_array_equal(tifffile.imread(path), data)
