"""A file system that opens files with O_DIRECT but refuses the writes (EINVAL: an alignment it does not take,
as a disk of 4 KiB sectors does for 512-byte pieces): every writer that writes with O_DIRECT falls back to the
page cache for that write and the ones after it, and the file holds every byte (writers/base.write_direct)."""
import errno
import fcntl
import os
import zipfile

import numpy as np
import pytest
import tifffile

from bossdb.geometry import calibration
from cutouts.pipeline.fetch import fetch_all
from cutouts.pipeline.writers.tiff import DIRECT_ALIGN, VolumeTiff
from cutouts.pipeline.writers.zipstream import AppendZip

from .test_bands import PoolReader, blocks_of

CAL = calibration((4, 4, 40), "nanometers", 0)


@pytest.fixture
def refused(monkeypatch):
    """Every O_DIRECT pwritev fails with EINVAL; the list of the descriptors it failed on."""
    real, fds = os.pwritev, []

    def pwritev(fd, parts, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            fds.append(fd)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real(fd, parts, offset)

    monkeypatch.setattr(os, "pwritev", pwritev)
    return fds


def aligned(shape, seed):
    """Random uint8 voxels in page-aligned memory, as the fetch's block buffers are."""
    raw = np.empty(int(np.prod(shape)) + DIRECT_ALIGN, np.uint8)
    skip = -raw.ctypes.data % DIRECT_ALIGN
    out = raw[skip:skip + int(np.prod(shape))].reshape(shape)
    out[...] = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)
    return out


def test_whole_row_blocks_fall_back_to_the_page_cache(tmp_path, refused):
    volume = aligned((32, 64, 4096), 5)
    with VolumeTiff(tmp_path / "a.ome.tif", volume.shape, np.uint8, CAL, flavour="ome") as out:
        for z0 in (0, 16):  # whole planes of 256 KiB from page-aligned memory: O_DIRECT would take them
            out.write_block(volume[z0:z0 + 16], z0, 0, 0)
    assert len(refused) == 1  # asked once; the writes after it went through the page cache
    with pytest.raises(OSError):
        os.fstat(refused[0])  # the refused descriptor was closed with the file, not left open
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.ome.tif"), volume)


def test_bands_fall_back_to_the_page_cache(tmp_path, refused):
    volume = np.random.default_rng(6).integers(0, 255, (32, 128, 8192), dtype=np.uint8)
    with VolumeTiff(tmp_path / "a.ome.tif", volume.shape, np.uint8, CAL, flavour="ome") as out:
        fetch_all(blocks_of(volume, 4096), PoolReader(volume),
                  lambda t, d: out.write_block(d, t.block.z[0], t.block.y[0], t.block.x[0]), concurrency=1)
    assert len(refused) == 1
    with pytest.raises(OSError):
        os.fstat(refused[0])
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.ome.tif"), volume)


def test_zip_members_fall_back_to_the_page_cache(tmp_path, refused):
    chunk = aligned((3 * DIRECT_ALIGN * 64,), 7)  # page-aligned, a multiple of 4 KiB long: O_DIRECT's kind
    big = tmp_path / "channel.tif"
    big.write_bytes(np.random.default_rng(8).integers(0, 255, 9 * 1024 * 1024, dtype=np.uint8).tobytes())
    z = AppendZip(tmp_path / "r.zip")
    z.add("0/0.0.0", chunk)
    z.add("0/0.0.1", chunk)
    z.add_file("channel.tif", big)
    z.close()
    assert len(refused) == 1
    with zipfile.ZipFile(tmp_path / "r.zip") as done:
        assert done.testzip() is None
        assert done.read("0/0.0.0") == chunk.tobytes() == done.read("0/0.0.1")
        assert done.read("channel.tif") == big.read_bytes()
