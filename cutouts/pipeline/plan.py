"""Plan a cutout box as blocks aligned to BOSS's 512×512×16 cuboids, and a big box as parts. Pure.

A request aligned to the cuboid grid reads whole cuboids only, so the planner cuts the box on multiples of
the cuboid size, grows blocks along x first (whole rows make the file writes contiguous, longer rows make
them fewer), and caps each block's bytes so that memory stays bounded by a few blocks. Parts (delivery of a
box over the web cap) are z slabs cut on cuboid boundaries, each a file of its own under the cap.
"""
from bossdb.geometry import CUBOID, DTYPE_BYTES, Block, Box  # noqa: F401 (Box re-exported for callers)

DEFAULT_BLOCK_BYTES = 16 * 1024 * 1024  # far below BOSS's 500 MB per-request cap
CUBOID_Z = CUBOID[2]


class PartsTooLarge(ValueError):
    pass


def cuts(lo, hi, step):
    """Split [lo, hi) at multiples of `step` (grid from 0): [(lo, a), (a, b), ..., (k, hi)]."""
    edges = [lo]
    nxt = (lo // step + 1) * step
    while nxt < hi:
        edges.append(nxt)
        nxt += step
    edges.append(hi)
    return list(zip(edges[:-1], edges[1:]))


def _rounded_out(lo, hi, step):
    """The length of [lo, hi) with both ends rounded out to multiples of `step`."""
    return -(-(hi - (lo // step) * step) // step) * step


def span_x(box):
    """The box's x extent rounded out to the cuboid grid (what the blocks' widths are measured against)."""
    return _rounded_out(*box.x, CUBOID[0])


def block_shape(box, dtype, max_bytes=DEFAULT_BLOCK_BYTES, row_factor=2):
    """Cuboid multiples (bx, by, bz) per block: as wide in x as the box, or as `row_factor` times max_bytes
    allows, then up to max_bytes in y."""
    item = DTYPE_BYTES[str(dtype)]
    cx, cy, cz = CUBOID
    budget = max(max_bytes // (item * cz), cx * cy)  # voxels per 16-deep slab
    span = span_x(box)
    bx = max(cx, min(span, (budget // cy) // cx * cx))
    if bx < span:
        # Rows as long as `row_factor` times the budget allows. Whole rows make each z plane of a block one
        # contiguous write into the file instead of one small write per row, which took 5-6 times as long
        # for the same bytes (2.1 GB of uint8 rows 1024 or 2048 voxels at a time: 5-8 s against 1.1-1.4 s
        # here). Where rows can't be whole, each row piece is still one write (the kernel's buffered write
        # costs ~3-4 µs a piece): the longer the pieces, the fewer the writes.
        # For whole rows a budget under one cuboid counts as one cuboid, but never as more than the default
        # budget: a cuboid of uint64 (32 MiB) is already twice the default, and rows of two of them took
        # boss-cutout to 279-508 MB.
        floor = max(max_bytes, item * cz * cy * cx)
        if span * cy * cz * item <= row_factor * min(floor, max(max_bytes, DEFAULT_BLOCK_BYTES)):
            bx = span
        else:
            bx = min(span, max(bx, (row_factor * max_bytes // (item * cz * cy)) // cx * cx))
    by = max(cy, min(_rounded_out(*box.y, cy), (budget // bx) // cy * cy))
    return bx, by, cz


def whole_rows(box, dtype, max_bytes=DEFAULT_BLOCK_BYTES, row_factor=2):
    """Whether every block of `box` is rows across the whole box."""
    return block_shape(box, dtype, max_bytes, row_factor)[0] >= span_x(box)


def plan_blocks(box, dtype, max_bytes=DEFAULT_BLOCK_BYTES, row_factor=2):
    """The blocks of `box`, in file order (t, z, y, x), aligned to the cuboid grid, each <= max_bytes, or
    <= row_factor * max_bytes when that makes their rows longer (edge blocks are smaller).
    One time sample per block, so a block is always a 3-D array."""
    bx, by, bz = block_shape(box, dtype, max_bytes, row_factor)
    # Whole rows: one block across, wherever the box starts (its ends are cut on cuboids all the same).
    xs = [tuple(box.x)] if bx >= span_x(box) else cuts(*box.x, bx)
    blocks = []
    for t in range(*box.t):
        for z in cuts(*box.z, bz):
            for y in cuts(*box.y, by):
                for x in xs:
                    blocks.append(Block(len(blocks), x, y, z, (t, t + 1)))
    return blocks


def part_ranges(z, bytes_per_slice, part_bytes):
    """[(z0, z1), ...] covering `z` (half-open), cut at multiples of a depth that is a multiple of 16
    (counted from 0, as BOSS's cuboids are), each part at most `part_bytes`."""
    depth = (part_bytes // max(bytes_per_slice, 1)) // CUBOID_Z * CUBOID_Z
    if depth < CUBOID_Z:
        raise PartsTooLarge(
            f"even a part of {CUBOID_Z} slices would be {bytes_per_slice * CUBOID_Z / 1e9:.2f} GB, over the "
            f"{part_bytes / 1e9:.2f} GB a part may hold: choose a smaller x/y range or a coarser level"
        )
    return cuts(*z, depth)
