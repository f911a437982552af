import numpy as np
import pytest

from cutouts.pipeline.plan import CUBOID, Box, block_shape, plan_blocks


AXES = ("t", "z", "y", "x")


def covered(box, blocks):
    """How many blocks cover each voxel of the box, on the grid of every block edge (and the box's).

    Between two consecutive edges on each axis no block starts or stops, so every voxel of such a cell is
    covered as often as the cell: this is the voxel-by-voxel count of a dense array the size of the box,
    without allocating one (the largest box below would take 5.8 GB)."""
    edges = {axis: sorted({*getattr(box, axis), *(e for b in blocks for e in getattr(b, axis))}) for axis in AXES}
    for axis in AXES:  # every block lies inside the box, so the box's edges are the outermost ones
        lo, hi = getattr(box, axis)
        assert edges[axis][0] == lo and edges[axis][-1] == hi, (axis, edges[axis][0], edges[axis][-1])
    cells = np.zeros([len(edges[axis]) - 1 for axis in AXES], dtype=np.int64)
    index = {axis: {e: i for i, e in enumerate(edges[axis])} for axis in AXES}
    for b in blocks:
        cells[tuple(slice(index[a][getattr(b, a)[0]], index[a][getattr(b, a)[1]]) for a in AXES)] += 1
    return cells


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint64"])
@pytest.mark.parametrize(
    "box",
    [
        Box((100, 1300), (0, 600), (0, 200)),
        Box((0, 512), (0, 512), (0, 16)),
        Box((511, 513), (1023, 1025), (15, 17)),
        Box((0, 5000), (0, 3000), (100, 228), (0, 3)),
    ],
)
def test_it_covers_the_box_exactly_once_with_cuboid_aligned_cuts(box, dtype):
    blocks = plan_blocks(box, dtype, max_bytes=8 * 2**20)
    assert (covered(box, blocks) == 1).all()
    assert sum(np.prod(b.shape_zyx) * (b.t[1] - b.t[0]) for b in blocks) == box.voxels
    for b in blocks:
        for (lo, hi), step, (box_lo, box_hi) in zip((b.x, b.y, b.z), CUBOID, (box.x, box.y, box.z)):
            assert lo == box_lo or lo % step == 0
            assert hi == box_hi or hi % step == 0
        assert b.t[1] - b.t[0] == 1


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint64"])
def test_blocks_stay_under_twice_the_byte_budget_and_under_it_unless_that_lengthens_their_rows(dtype):
    """Never less than one cuboid (32 MiB of uint64)."""
    item = np.dtype(dtype).itemsize
    cuboid = int(np.prod(CUBOID)) * item
    for width in (1024, 8192, 20000):
        blocks = plan_blocks(Box((0, width), (0, 20000), (0, 64)), dtype, max_bytes=16 * 2**20)
        assert max(np.prod(b.shape_zyx) * item for b in blocks) <= max(2 * 16 * 2**20, cuboid)
    narrow = Box((0, 512), (0, 20000), (0, 64))  # rows as long as the box at the budget: it holds
    assert max(np.prod(b.shape_zyx) * item for b in plan_blocks(narrow, dtype, 16 * 2**20)) <= max(16 * 2**20, cuboid)


def test_a_box_too_wide_for_whole_rows_is_cut_into_blocks_as_wide_as_twice_the_budget_allows():
    """Each row of a block narrower than the box is a write of its own: 4096-voxel pieces instead of the
    2048 the budget alone would allow halve the writes, in the same 32 MiB a whole-row block takes."""
    box = Box((0, 10000), (0, 1024), (0, 32))
    assert block_shape(box, "uint8", 16 * 2**20) == (4096, 512, 16)
    blocks = plan_blocks(box, "uint8", 16 * 2**20)
    assert sorted({b.x for b in blocks}) == [(0, 4096), (4096, 8192), (8192, 10000)]
    assert max(np.prod(b.shape_zyx) for b in blocks) <= 2 * 16 * 2**20
    assert (covered(box, blocks) == 1).all()
    assert block_shape(Box((0, 8192), (0, 4096), (0, 64)), "uint8", 16 * 2**20) == (4096, 512, 16)
    assert block_shape(Box((0, 8192), (0, 4096), (0, 64)), "uint16", 16 * 2**20) == (2048, 512, 16)


def test_it_grows_blocks_along_x_first():
    assert block_shape(Box((0, 2048), (0, 2048), (0, 64)), "uint8", 16 * 2**20) == (2048, 512, 16)


def test_it_refuses_a_reversed_or_empty_range():
    with pytest.raises(ValueError, match="x range"):
        Box((10, 10), (0, 1), (0, 1))
    with pytest.raises(ValueError, match="z range"):
        Box((0, 1), (0, 1), (5, 2))


def test_blocks_take_whole_rows_when_that_at_most_doubles_them():
    box = Box((0, 4096), (0, 4096), (0, 64))
    assert block_shape(box, "uint8", 16 * 2**20) == (4096, 512, 16)  # 32 MiB, one write per plane
    assert max(np.prod(b.shape_zyx) for b in plan_blocks(box, "uint8", 16 * 2**20)) <= 2 * 16 * 2**20


def test_a_caller_holding_fewer_blocks_takes_whole_rows_up_to_four_times_the_budget():
    """The command line holds two blocks, not three: rows across an 8192-wide uint8 box (64 MiB) instead of
    part rows 4096 wide, which cost more to write; wider than that, blocks of equal widths up to 64 MiB."""
    wide = Box((0, 8192), (0, 4096), (0, 64))
    assert block_shape(wide, "uint8", 16 * 2**20) == (4096, 512, 16)
    assert block_shape(wide, "uint8", 16 * 2**20, row_factor=4) == (8192, 512, 16)
    assert block_shape(Box((0, 4096), (0, 512), (0, 16)), "uint16", 16 * 2**20, row_factor=4) == (4096, 512, 16)
    wider = Box((0, 8704), (0, 4096), (0, 64))
    assert block_shape(wider, "uint8", 16 * 2**20, row_factor=4)[0] == 8192  # 8192 + 512
    blocks = plan_blocks(wide, "uint8", 16 * 2**20, row_factor=4)
    assert all(b.x == wide.x for b in blocks)
    assert max(np.prod(b.shape_zyx) for b in blocks) == 4 * 16 * 2**20


def test_the_command_line_plans_whole_rows_up_to_four_times_its_budget_uncompressed_only(tmp_path):
    from bossdb.geometry import Box as GBox
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
    from cutouts.pipeline.writers.stack import make_plan

    box = GBox((0, 8192), (0, 1024), (0, 32))
    plans = {c: make_plan(CutoutSpec("http://boss.test", "c", "e", (ChannelSpec("em", "uint8"),), 0, box,
                                     format="ome-tiff", compression=c), 16 * 2**20) for c in ("none", "zstd")}
    assert {b.x for b in plans["none"].blocks} == {(0, 8192)}
    assert {b.x[1] - b.x[0] for b in plans["zstd"].blocks} == {4096}  # a compressed file keeps its own sizing


def test_the_command_line_keeps_uint64_blocks_to_one_cuboid():
    """A cuboid of uint64 labels is already twice the 16 MiB budget: two of them across (64 MiB blocks) took
    boss-cutout to 279 MB, four (a box 2048 wide, before the cap) to 505 MB."""
    from bossdb.geometry import Box as GBox
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
    from cutouts.pipeline.writers.stack import make_plan

    for width in (1024, 2048):
        plan = make_plan(CutoutSpec("http://boss.test", "c", "e", (ChannelSpec("seg", "uint64", "annotation"),), 0,
                                    GBox((0, width), (0, 2048), (0, 32)), format="ome-tiff"), 16 * 2**20)
        assert max(np.prod(b.shape_zyx) * 8 for b in plan.blocks) == 512 * 512 * 16 * 8
    assert block_shape(Box((0, 1024), (0, 2048), (0, 32)), "uint64", 16 * 2**20) == (512, 512, 16)


def test_a_compressed_tiff_stack_grows_its_blocks_to_whole_rows_up_to_48_mb_and_no_further():
    """Strips (what Fiji's own opener reads) need whole rows; blocks up to twice WHOLE_ROWS_BYTES (96 MB)
    took boss-cutout to 279-321 MB on uint64 labels 1024-1536 wide."""
    from bossdb.geometry import Box as GBox
    from cutouts.pipeline.spec import ChannelSpec, CutoutSpec
    from cutouts.pipeline.writers.stack import WHOLE_ROWS_BYTES, make_plan

    def plan(dtype, width):
        spec = CutoutSpec("http://boss.test", "c", "e", (ChannelSpec("ch", dtype),), 0,
                          GBox((0, width), (0, 2048), (0, 32)), format="tiff-stack", compression="deflate")
        return make_plan(spec, 16 * 2**20).blocks

    item = {"uint8": 1, "uint64": 8}
    for dtype, width, whole in (("uint8", 6144, True), ("uint8", 8192, False), ("uint64", 1536, False)):
        blocks = plan(dtype, width)
        assert all(b.x == (0, width) for b in blocks) is whole
        assert max(np.prod(b.shape_zyx) * item[dtype] for b in blocks) <= WHOLE_ROWS_BYTES
