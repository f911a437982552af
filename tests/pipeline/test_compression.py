"""Compressed results (zstd, deflate): every format's files open in tifffile / zarr voxel for voxel, carry the
codec they say, keep their calibration (ImageJ hyperstacks for Fiji), and are smaller than uncompressed."""
import io
import zipfile
import zlib

import numpy as np
import pytest
import tifffile
import zarr

from bossdb.geometry import Box
from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
from cutouts.pipeline.writers import FORMATS, WriterError
from tests.pipeline.test_pipeline import EM, SEG, expected, produce

FLUO = ChannelSpec("fluo", "uint16", "image")
WIDE = Box((512, 1600), (0, 48), (10, 26))  # wider than one block: the file is tiled on the cuboid grid
NARROW = Box((520, 1000), (0, 40), (10, 40))  # one cuboid wide, one block wide: strips


def spec(channels, fmt, compression, box=NARROW):
    return CutoutSpec("http://boss.test", "c", "e", tuple(channels), 0, box, format=fmt, compression=compression,
                      voxel_size=(4.0, 4.0, 40.0))


def raw_bytes(channels, box):
    return sum(box.voxels * np.dtype(c.datatype).itemsize for c in channels)


@pytest.mark.parametrize("compression, tag", [("zstd", "ZSTD"), ("deflate", "ADOBE_DEFLATE")])
@pytest.mark.parametrize("box", [NARROW, WIDE], ids=["strips", "tiles"])
def test_an_ome_tiff_is_compressed_and_holds_the_box(tmp_path, compression, tag, box):
    name, _ = produce(tmp_path, spec((EM,), "ome-tiff", compression, box))
    with tifffile.TiffFile(tmp_path / name) as tif:
        assert tif.is_ome and tif.pages[0].compression.name == tag
        assert tif.pages[0].predictor == tifffile.PREDICTOR.HORIZONTAL  # rows stored as differences
        assert np.array_equal(tif.asarray(), expected(EM, box))
        assert 'PhysicalSizeZ="40.0"' in tif.ome_metadata
    assert (tmp_path / name).stat().st_size < raw_bytes((EM,), box) / 2  # the source is smooth: it packs well
    assert not list(tmp_path.glob("*.part*"))  # no staging file left


@pytest.mark.parametrize("compression", ["zstd", "deflate"])
def test_a_16_bit_ome_tiff_stores_its_rows_as_differences_too(tmp_path, compression):
    name, _ = produce(tmp_path, spec((FLUO,), "ome-tiff", compression, WIDE))
    with tifffile.TiffFile(tmp_path / name) as tif:
        assert tif.pages[0].dtype == np.uint16
        assert tif.pages[0].predictor == tifffile.PREDICTOR.HORIZONTAL
        assert np.array_equal(tif.asarray(), expected(FLUO, WIDE))
    assert (tmp_path / name).stat().st_size < raw_bytes((FLUO,), WIDE) / 4  # smooth: plain rows made 0.69-0.77


@pytest.mark.parametrize("channel, fmt", [(EM, "ome-tiff"), (FLUO, "imagej-tiff")], ids=["8-bit", "imagej"])
def test_deflate_segments_are_zlib_streams_zlib_itself_inflates(tmp_path, channel, fmt):
    """ISA-L writes the deflate: every segment must be a whole zlib stream (header, Adler-32) that zlib, the
    inflater libtiff and Java's (ImageJ's own opener) use, unpacks to a full segment."""
    name, _ = produce(tmp_path, spec((channel,), fmt, "deflate"))
    with open(tmp_path / name, "rb") as f, tifffile.TiffFile(tmp_path / name) as tif:
        page = tif.pages[0]
        rows = page.tags["RowsPerStrip"].value
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            f.seek(offset)
            unpacked = zlib.decompress(f.read(count))
            assert len(unpacked) in {rows * page.imagewidth * page.dtype.itemsize,
                                     page.imagelength % rows * page.imagewidth * page.dtype.itemsize}


def test_an_imagej_tiff_takes_deflate_and_stays_a_hyperstack_fiji_opens(tmp_path):
    name, _ = produce(tmp_path, spec((FLUO,), "imagej-tiff", "deflate"))
    with tifffile.TiffFile(tmp_path / name) as tif:
        assert tif.is_imagej and tif.pages[0].compression.name == "ADOBE_DEFLATE"
        assert tif.pages[0].predictor == tifffile.PREDICTOR.NONE  # as Fiji's own opener has always read them
        assert tif.imagej_metadata["spacing"] == 40.0 and tif.imagej_metadata["unit"] == "nm"
        assert not tif.pages[0].is_tiled  # ImageJ's own opener reads strips only
        assert np.array_equal(tif.asarray(), expected(FLUO, NARROW))
    assert "zstd" not in FORMATS["imagej-tiff"].compressions


def test_a_tiff_zip_compresses_each_channel_uint64_labels_included(tmp_path):
    name, _ = produce(tmp_path, spec((EM, SEG), "tiff-zip", "zstd"))
    with zipfile.ZipFile(tmp_path / name) as zf:
        for channel in (EM, SEG):
            member = next(n for n in zf.namelist() if f"_{channel.name}_" in n)
            with tifffile.TiffFile(io.BytesIO(zf.read(member))) as tif:
                assert tif.pages[0].compression.name == "ZSTD"
                assert (tif.pages[0].predictor == tifffile.PREDICTOR.HORIZONTAL) == (channel is EM)  # not uint64
                assert np.array_equal(tif.asarray(), expected(channel, NARROW))
    assert (tmp_path / name).stat().st_size < raw_bytes((EM, SEG), NARROW) / 2


@pytest.mark.parametrize("cname", ["lz4", "zstd"])
def test_ome_zarr_chunks_are_blosc_and_hold_the_box(tmp_path, cname):
    name, _ = produce(tmp_path, spec((EM, SEG), "ome-zarr", cname))
    store = zarr.storage.ZipStore(tmp_path / name, mode="r")
    root = zarr.open_group(store, mode="r")
    image = root["0"]
    codec = str(getattr(image, "compressors", None) or image.compressor).lower()
    assert "blosc" in codec and cname in codec
    assert np.array_equal(np.asarray(image[...]).reshape(NARROW.shape_zyx), expected(EM, NARROW))
    labels = root["labels/seg/0"]
    assert np.array_equal(np.asarray(labels[...]).reshape(NARROW.shape_zyx), expected(SEG, NARROW))
    store.close()
    (tmp_path / "plain").mkdir()
    uncompressed, _ = produce(tmp_path / "plain", spec((EM, SEG), "ome-zarr", "none"))
    assert (tmp_path / name).stat().st_size < (tmp_path / "plain" / uncompressed).stat().st_size / 2


def test_a_wide_compressed_tiff_whose_box_is_off_the_16_grid_is_refused_with_what_to_do(tmp_path):
    box = Box((500, 1700), (3, 40), (10, 26))  # tiles needed, but the box starts at x 500, y 3
    with pytest.raises(WriterError, match="multiple of 16"):
        produce(tmp_path, spec((EM,), "ome-tiff", "zstd", box))


def test_the_submit_refuses_a_compressed_tiff_the_writer_could_not_tile(tmp_path):
    from cutouts.pipeline.writers import compression_problem

    off_grid = Box((500, 1700), (3, 40), (10, 26))
    assert "multiple of 16" in compression_problem("ome-tiff", "zstd", off_grid, [EM], 64 * 1024)
    assert compression_problem("ome-tiff", "none", off_grid, [EM], 16 * 1024 * 1024) is None
    assert compression_problem("ome-zarr", "zstd", off_grid, [EM], 16 * 1024 * 1024) is None
    assert compression_problem("tiff-zip", "deflate", WIDE, [EM, SEG], 64 * 1024) is None


def test_a_segment_is_copied_into_the_threads_buffer_only_when_it_is_not_contiguous():
    from cutouts.pipeline.writers.ctiff import contiguous

    block = np.arange(4 * 64 * 96, dtype=np.uint64).reshape(4, 64, 96)
    strip = block[1, 16:32]  # whole rows: contiguous, encoded where it is
    assert contiguous(strip) is strip
    tile = block[2, 16:32, 32:64]  # part of each row
    first = contiguous(tile)
    assert first.flags.c_contiguous and not np.shares_memory(first, block)
    np.testing.assert_array_equal(first, tile)
    again = contiguous(block[3, 0:16, 0:32])  # the next tile goes into the same buffer
    assert np.shares_memory(again, first)
    np.testing.assert_array_equal(again, block[3, 0:16, 0:32])
