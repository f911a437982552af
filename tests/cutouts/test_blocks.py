import numpy as np
import pytest

from cutouts.blocks import CUBOID, Box, block_shape, plan_blocks


def covered(box, blocks):
    seen = np.zeros((box.time_samples, *box.shape_zyx), dtype=np.uint8)
    for b in blocks:
        seen[b.t[0] - box.t[0], b.z[0] - box.z[0]:b.z[1] - box.z[0], b.y[0] - box.y[0]:b.y[1] - box.y[0],
             b.x[0] - box.x[0]:b.x[1] - box.x[0]] += 1
    return seen


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
    for b in blocks:
        for (lo, hi), step, (box_lo, box_hi) in zip((b.x, b.y, b.z), CUBOID, (box.x, box.y, box.z)):
            assert lo == box_lo or lo % step == 0
            assert hi == box_hi or hi % step == 0
        assert b.t[1] - b.t[0] == 1


def test_blocks_stay_under_the_byte_budget():
    box = Box((0, 20000), (0, 20000), (0, 64))
    blocks = plan_blocks(box, "uint16", max_bytes=16 * 2**20)
    assert max(np.prod(b.shape_zyx) * 2 for b in blocks) <= 16 * 2**20


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
