"""bench.zarr_floor measures the work of the OME-Zarr layout the writer makes: its chunks of both levels."""
from bench.zarr_floor import tiles, writer_work

EM = ("demo", "large", "em", "uint8")


def test_tiles_cut_a_shape_into_chunks_the_last_ones_partial():
    cut = list(tiles((16, 300, 512), (16, 256, 256)))
    assert len(cut) == 4
    assert cut[-1] == (slice(0, 16), slice(256, 300), slice(256, 512))


def test_the_floor_writes_every_chunk_of_levels_0_and_1():
    box = {"x": (0, 1024), "y": (0, 512), "z": (0, 16)}
    seconds, written = writer_work(EM, box, "none", 16 * 2**20)
    # level 0: 2 x 4 chunks of 16 x 256 x 256; level 1 (every 2nd voxel in y and x): 1 x 2 of them
    assert written == 10 * 16 * 256 * 256
    assert seconds > 0
    _, compressed = writer_work(EM, box, "lz4", 16 * 2**20)
    assert 0 < compressed < written / 2  # devboss's EM: smooth fields compress well


def test_an_edge_chunk_is_padded_as_zarr_stores_it():
    box = {"x": (0, 300), "y": (0, 256), "z": (0, 16)}
    _, written = writer_work(EM, box, "none", 16 * 2**20)
    assert written == (2 + 1) * 16 * 256 * 256  # level 0: x 0:256 and 256:300 (padded); level 1: 150 wide
