"""The OME-Zarr writer's own chunk files and streamed ZIP: blocks on BOSS's cuboid grid, in any order and
from several threads, give the box voxel for voxel at both levels; a run cut short is taken up again."""
import os
import random
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numcodecs
import numpy as np
import pytest
import zarr

from bossdb.geometry import Box, calibration
from cutouts.pipeline.plan import plan_blocks
from cutouts.pipeline.writers.chunks import ChunkGrid, blosc_into, every_other
from cutouts.pipeline.writers.zarr import OmeZarrZip, chunk_zyx
from cutouts.pipeline.writers.zipstream import HEADER, AppendZip

CAL = calibration([4, 4, 40], "nanometers", 0)


def volume(box, dtype="uint8", seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, box.shape_zyx, dtype=dtype)


def blocks_of(box, dtype, block_bytes=2 * 512 * 512 * 16):
    return plan_blocks(box, dtype, block_bytes)


def write_all(out, data, box, blocks, threads=3, c=0):
    def one(b):
        z0, y0, x0 = b.z[0] - box.z[0], b.y[0] - box.y[0], b.x[0] - box.x[0]
        bz, by, bx = b.shape_zyx
        out.write_block(np.ascontiguousarray(data[z0:z0 + bz, y0:y0 + by, x0:x0 + bx]), z0, y0, x0, c=c)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, blocks))


def read(path):
    return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r", zarr_format=2)


@pytest.mark.parametrize("box,hierarchy", [
    (Box((0, 1024), (0, 1024), (0, 32)), "anisotropic"),  # on the grid: every chunk whole, straight into the ZIP
    (Box((300, 1400), (77, 700), (5, 40)), "anisotropic"),  # off it on every axis: chunks shared by blocks
    (Box((512, 1536), (0, 600), (16, 64)), "isotropic"),  # level 1 halves z: its chunks take two blocks
])
@pytest.mark.parametrize("compression", ["lz4", "none"])
def test_blocks_in_any_order_from_threads_give_the_box_at_both_levels(tmp_path, box, hierarchy, compression):
    data = volume(box)
    blocks = blocks_of(box, "uint8")
    random.Random(3).shuffle(blocks)
    path = tmp_path / "v.ome.zarr.zip"
    with OmeZarrZip(path, box.shape_zyx, [("em", "uint8", "image")], CAL, hierarchy=hierarchy,
                    compression=compression) as out:
        write_all(out, data, box, blocks)
    root = read(path)
    np.testing.assert_array_equal(root["0"][:], data)
    fz = 2 if hierarchy == "isotropic" else 1
    np.testing.assert_array_equal(root["1"][:], data[::fz, ::2, ::2])
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert len(names) == len(set(names))  # every member once
    assert not list(tmp_path.glob("*.d")) and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("origin,level,want", [
    ((0, 0, 0), 0, (16, 256, 256)), ((0, 0, 0), 1, (16, 256, 256)),
    ((100, 0, 0), 0, (4, 512, 512)), ((100, 0, 0), 1, (4, 256, 256)),
    ((101, 512, 1024), 0, (1, 512, 512)), ((8, 256, 0), 0, (8, 256, 256)), ((104, 0, 300), 0, (8, 512, 256)),
])
def test_chunks_end_where_the_blocks_do_in_z_and_stay_near_a_mebivoxel(origin, level, want):
    assert chunk_zyx(origin, level) == want


@pytest.mark.parametrize("z", [(100, 132), (5, 40)])
def test_a_box_off_the_grid_in_z_only_has_no_chunk_two_blocks_share(tmp_path, monkeypatch, z):
    """demo/cortex's frame starts at z 100: every 16-slice chunk from there took two blocks, each went through a
    file and was encoded twice. Chunks ending where the blocks do go straight into the ZIP."""
    shared = []
    monkeypatch.setattr(ChunkGrid, "_store", lambda grid, index, chunk: shared.append(index))
    box = Box((0, 1024), (512, 1536), z)
    data = volume(box, "uint16")
    blocks = blocks_of(box, "uint16")
    random.Random(4).shuffle(blocks)
    path = tmp_path / "z.ome.zarr.zip"
    with OmeZarrZip(path, box.shape_zyx, [("fluo", "uint16", "image")], CAL, origin_zyx=(z[0], 512, 0),
                    compression="lz4") as out:
        write_all(out, data, box, blocks)
    assert shared == []
    root = read(path)
    assert root["0"].chunks[0] == chunk_zyx((z[0], 512, 0))[0] < 16
    np.testing.assert_array_equal(root["0"][:], data)
    np.testing.assert_array_equal(root["1"][:], data[:, ::2, ::2])


def test_chunks_blocks_share_in_y_and_x_are_encoded_once_when_whole(tmp_path, monkeypatch):
    """A box off the grid in y and x: the chunks on the blocks' edges are merged in their slots of a sparse
    file and handed to the ZIP once, as soon as their last part is written, not decoded and encoded at every
    merge."""
    sent = []
    real_sink = OmeZarrZip._sink
    monkeypatch.setattr(OmeZarrZip, "_sink", lambda out, name, data: (sent.append(name), real_sink(out, name, data)))
    box = Box((300, 2100), (77, 1300), (16, 48))
    data = volume(box, "uint16")
    blocks = blocks_of(box, "uint16", block_bytes=512 * 512 * 16 * 2)  # one cuboid each: edges everywhere
    random.Random(5).shuffle(blocks)
    path = tmp_path / "y.ome.zarr.zip"
    with OmeZarrZip(path, box.shape_zyx, [("fluo", "uint16", "image")], CAL, origin_zyx=(16, 77, 300),
                    compression="lz4") as out:
        write_all(out, data, box, blocks)
        assert (tmp_path / "y.ome.zarr.zip.d" / "0" / "shared.raw").stat().st_size  # their parts waited in slots
    chunks = [n for n in sent if n[0].isdigit()]
    assert len(chunks) == len(set(chunks))  # each chunk handed on once
    root = read(path)
    assert len(chunks) == root["0"].nchunks + root["1"].nchunks
    np.testing.assert_array_equal(root["0"][:], data)
    np.testing.assert_array_equal(root["1"][:], data[:, ::2, ::2])


def test_a_run_cut_short_mid_member_is_taken_up_and_finished(tmp_path):
    box = Box((300, 1400), (77, 700), (5, 40))
    data, seg = volume(box), volume(box, "uint64", seed=1)
    blocks = blocks_of(box, "uint8")
    channels = [("em", "uint8", "image"), ("seg", "uint64", "annotation")]
    path = tmp_path / "v.ome.zarr.zip"
    options = dict(zyx=box.shape_zyx, channels=channels, calibration=CAL, resume=True)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        with OmeZarrZip(path, **options) as out:
            write_all(out, data, box, blocks[:len(blocks) // 2], c=0)
            raise Crash()
    part = tmp_path / "v.ome.zarr.zip.part"
    with open(part, "ab") as f:  # the crash came in the middle of a member: a header and some of its bytes
        f.write(zipfile.stringFileHeader + b"\0" * 40)
    with OmeZarrZip(path, **options) as out:
        assert out.resumed and out.zip.recovered > 0
        write_all(out, data, box, blocks[len(blocks) // 4:], c=0)  # some blocks again, as after a real crash
        write_all(out, seg, box, blocks_of(box, "uint64"), c=1)
    root = read(path)
    np.testing.assert_array_equal(root["0"][:], data)
    np.testing.assert_array_equal(root["1"][:], data[:, ::2, ::2])
    np.testing.assert_array_equal(root["labels/seg/0"][:], seg)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
    assert len(names) == len(set(names))


def test_a_torn_zip_keeps_exactly_its_whole_members(tmp_path):
    part = tmp_path / "a.zip"
    z = AppendZip(part)
    for i in range(5):
        z.add(f"m/{i}", bytes([i]) * (1000 + i))
    z.abandon()
    size = part.stat().st_size
    with open(part, "r+b") as f:
        f.truncate(size - 10)  # the last member lost its tail
    z = AppendZip(part, resume=True)
    assert z.names() == {"m/0", "m/1", "m/2", "m/3"}
    z.add("m/3", b"again")  # written again: the later copy is the one in the directory
    z.add("m/4", b"four")
    z.close()
    with zipfile.ZipFile(part) as zf:
        assert sorted(zf.namelist()) == ["m/0", "m/1", "m/2", "m/3", "m/4"]
        assert zf.read("m/3") == b"again" and zf.read("m/1") == b"\1" * 1001


def aligned(value, n=8192):
    """`n` bytes of `value` in page-aligned memory: a member AppendZip writes with O_DIRECT."""
    import mmap

    buf = np.frombuffer(mmap.mmap(-1, n), np.uint8)
    buf[:] = value
    return buf


def test_members_written_with_o_direct_from_many_threads_all_read_back(tmp_path):
    part = tmp_path / "a.zip"
    z = AppendZip(part)
    with ThreadPoolExecutor(4) as pool:  # four threads adding at once, each member padded to its 4 KiB boundary
        list(pool.map(lambda i: z.add(f"m/{i}", aligned(i)), range(40)))
    z.close()
    with zipfile.ZipFile(part) as zf:
        assert zf.testzip() is None
        assert all(zf.read(f"m/{i}") == bytes([i]) * 8192 for i in range(40))


def test_an_edge_chunk_is_stored_full_size_padded_with_the_fill_value(tmp_path):
    import numcodecs

    grid = ChunkGrid(tmp_path, (5, 7), (4, 4), "uint16", numcodecs.Blosc("lz4", 5))
    grid.write((4, 4), np.full((1, 3), 9, np.uint16))  # the corner chunk, whole within the array
    raw = numcodecs.Blosc("lz4", 5).decode((tmp_path / "1" / "1").read_bytes())
    chunk = np.frombuffer(raw, np.uint16).reshape(4, 4)
    assert chunk[0, :3].tolist() == [9, 9, 9] and chunk.sum() == 27


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int16"])
def test_every_other_gives_the_voxels_a_strided_view_gives_whatever_the_offset_and_width(dtype):
    rng = np.random.default_rng(3)
    for shape in [(3, 5, 7), (2, 4, 8), (1, 3, 1), (2, 2, 2), (4, 6, 9)]:
        data = rng.integers(0, 120, shape).astype(dtype)
        for start in [(0, 0, 0), (1, 1, 1), (0, 3, 5), (2, 0, 1)]:
            for factors in [(1, 2, 2), (2, 2, 2)]:
                at, got = every_other(data, start, factors)
                firsts = [-(-s // f) * f for s, f in zip(start, factors)]
                want = data[tuple(slice(a - s, None, f) for a, s, f in zip(firsts, start, factors))]
                assert at == tuple(a // f for a, f in zip(firsts, factors))
                assert got.dtype == data.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got, want)


def test_chunks_written_by_one_thread_one_after_another_keep_their_own_voxels(tmp_path):
    """Each thread copies whole chunks into one buffer it reuses, and encodes them into another: every chunk
    is encoded, and handed to the sink, before the next."""
    stored = {}
    grid = ChunkGrid(tmp_path, (4, 8, 8), (4, 4, 4), "uint16", numcodecs.Blosc("lz4", 5),
                     sink=lambda key, raw: stored.__setitem__(key, bytes(raw)))
    data = np.arange(4 * 8 * 8, dtype="uint16").reshape(4, 8, 8)
    grid.write((0, 0, 0), data)
    raw_grid = ChunkGrid(tmp_path / "raw", (4, 8, 8), (4, 4, 4), "uint16", None,
                         sink=lambda key, raw: stored.__setitem__("raw/" + key, bytes(raw)))
    raw_grid.write((0, 0, 0), data)
    for y, x in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        want = data[:, y * 4:y * 4 + 4, x * 4:x * 4 + 4]
        got = np.frombuffer(numcodecs.Blosc("lz4", 5).decode(stored[f"0/{y}/{x}"]), "uint16").reshape(4, 4, 4)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.frombuffer(stored[f"raw/0/{y}/{x}"], "uint16").reshape(4, 4, 4), want)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint64"])
@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_chunks_encoded_into_the_threads_buffer_are_the_blosc_frames_the_arrays_declare(dtype, compression):
    """What zarr (numcodecs) reads back, with the codec, shuffle and voxel size `.zarray` declares; the
    buffer is reused, so each frame is taken before the next chunk is encoded."""
    from numcodecs import blosc

    from cutouts.pipeline.writers.zarr import blosc_codec

    codec = blosc_codec(compression, dtype)
    rng = np.random.default_rng(5)
    chunks = [rng.integers(0, 40, (16, 64, 64), dtype=dtype) for _ in range(2)]
    chunks.append(np.zeros((16, 64, 64), dtype))  # a frame of one repeated byte: blosc's shortest
    chunks.append(rng.integers(0, np.iinfo(dtype).max, (16, 64, 64), dtype=dtype))  # stored as it is
    for chunk in chunks:
        frame = bytes(blosc_into(codec, chunk))
        assert blosc.cbuffer_complib(frame).lower() == ("lz4" if compression == "lz4" else "zstd")
        flags, typesize = frame[2], frame[3]  # blosc's header: version, its codec's version, flags, typesize
        assert typesize == np.dtype(dtype).itemsize and (flags & 1) == (codec.shuffle == blosc.SHUFFLE)
        np.testing.assert_array_equal(np.frombuffer(codec.decode(frame), dtype).reshape(chunk.shape), chunk)


def test_members_written_from_threads_with_write_back_on_the_way_read_back_whole(tmp_path, monkeypatch):
    from cutouts.pipeline.writers import tiff

    monkeypatch.setattr(tiff, "SYNC_EVERY", 8192)  # a background write-back every few members
    part = tmp_path / "b.zip"
    z = AppendZip(part)
    arrays = {f"c/{i}": np.full((16, 64), i, dtype="uint16") for i in range(60)}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda item: z.add(item[0], memoryview(item[1])), arrays.items()))
    z.close()
    with zipfile.ZipFile(part) as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == sorted(arrays)
        for name, a in arrays.items():
            assert zf.read(name) == a.tobytes()
    z = AppendZip(part, resume=True)  # the directory's members are all found again from their headers
    assert z.names() == set(arrays)
    z.abandon()


def test_uncompressed_chunks_start_on_a_page_and_read_back_through_any_zip_reader(tmp_path):
    from cutouts.pipeline.writers.base import scratch
    from cutouts.pipeline.writers.tiff import open_direct

    part = tmp_path / "c.zip"
    z = AppendZip(part)
    z.add(".zattrs", b'{"a": 1}')  # leaves the next member off the page grid
    chunk = scratch((2, 64, 64), "uint8")
    chunk[:] = np.arange(2 * 64 * 64, dtype=np.uint32).reshape(2, 64, 64) % 251
    want = chunk.tobytes()
    z.add("0/0/0/0", memoryview(chunk).cast("B"))
    chunk[:] = 7  # the writer's buffer serves the next chunk
    z.add("0/0/0/1", memoryview(chunk).cast("B"))
    z.close()
    with zipfile.ZipFile(part) as zf:
        assert zf.testzip() is None
        assert zf.read("0/0/0/0") == want and zf.read("0/0/0/1") == bytes([7]) * 8192
        assert zf.read(".zattrs") == b'{"a": 1}'
        info = zf.getinfo("0/0/0/0")
        assert info.extra == b""  # the padding is in the local header only
    with open(part, "rb") as f:
        f.seek(info.header_offset)
        head = HEADER.unpack(f.read(HEADER.size))
    start = info.header_offset + HEADER.size + head[zipfile._FH_FILENAME_LENGTH] + head[zipfile._FH_EXTRA_FIELD_LENGTH]
    fd = open_direct(part)
    if fd is not None:  # written with O_DIRECT: padded to the page
        os.close(fd)
        assert start % 4096 == 0
    else:  # a file system without O_DIRECT (tmpfs): written through the page cache, unpadded
        assert start == info.header_offset + HEADER.size + len("0/0/0/0")
    z = AppendZip(part, resume=True)  # the padded headers are read again after a crash
    assert z.names() == {".zattrs", "0/0/0/0", "0/0/0/1"}
    z.abandon()


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("size", [64 * 1024 * 3, 64 * 1024 * 3 + 1234, 5000])
def test_a_file_is_copied_into_the_zip_in_pieces_bytes_and_crc_intact(tmp_path, monkeypatch, direct, size):
    """add_file: a file larger than a piece is copied piece by piece (O_DIRECT where the file system has it,
    else through the page cache), its CRC computed on the way and its header written last."""
    from cutouts.pipeline.writers import zipstream

    monkeypatch.setattr(zipstream, "COPY_PIECE", 64 * 1024)
    if not direct:
        monkeypatch.setattr(zipstream, "open_direct", lambda path: None)
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    (tmp_path / "c0.tif").write_bytes(data)
    (tmp_path / "c1.tif").write_bytes(data[::-1])
    part = tmp_path / "t.zip"
    z = AppendZip(part)
    z.add("provenance.json", b"{}")  # the next member starts off the page grid
    z.add_file("c0.tif", tmp_path / "c0.tif")
    z.add_file("c1.tif", tmp_path / "c1.tif")
    z.close()
    with zipfile.ZipFile(part) as zf:
        assert zf.testzip() is None  # every member's CRC matches its bytes
        assert zf.read("c0.tif") == data and zf.read("c1.tif") == data[::-1]
        assert zf.namelist() == ["provenance.json", "c0.tif", "c1.tif"]
        info = zf.getinfo("c1.tif")
    with open(part, "rb") as f:
        f.seek(info.header_offset)
        head = HEADER.unpack(f.read(HEADER.size))
    start = info.header_offset + HEADER.size + head[zipfile._FH_FILENAME_LENGTH] + head[zipfile._FH_EXTRA_FIELD_LENGTH]
    fd = zipstream.open_direct(part)
    if fd is not None:
        os.close(fd)
    if fd is not None and size > 64 * 1024:  # copied with O_DIRECT: its bytes start on a page
        assert start % 4096 == 0
    elif size > 64 * 1024:
        assert start == info.header_offset + HEADER.size + len("c1.tif")
