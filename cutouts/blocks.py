"""Plan a cutout box as blocks aligned to BOSS's 512×512×16 cuboids (pure; no I/O).

BOSS stores each resolution level in cuboids of 512×512×16 voxels whose grid starts at coordinate 0
(boss-api.md section 6.1, `cuboid_size`). A request aligned to that grid reads whole cuboids only, so the
planner cuts the box on multiples of the cuboid size, grows blocks along x first (whole rows make the
file writes contiguous), and caps each block's bytes so that memory stays bounded by a few blocks.
"""
from dataclasses import dataclass
from math import prod

CUBOID = (512, 512, 16)  # x, y, z
DEFAULT_BLOCK_BYTES = 16 * 1024 * 1024  # far below BOSS's 500 MB per-request cap

DTYPE_BYTES = {"uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8}


@dataclass(frozen=True)
class Box:
    """A half-open box [x0, x1) × [y0, y1) × [z0, z1) × [t0, t1) in the voxel grid of one level."""

    x: tuple
    y: tuple
    z: tuple
    t: tuple = (0, 1)

    def __post_init__(self):
        for axis in ("x", "y", "z", "t"):
            lo, hi = getattr(self, axis)
            if not (isinstance(lo, int) and isinstance(hi, int)) or lo < 0 or hi <= lo:
                raise ValueError(f"{axis} range must be two integers 0 <= start < stop, got {lo}:{hi}")

    @property
    def shape_zyx(self):
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])

    @property
    def time_samples(self):
        return self.t[1] - self.t[0]

    @property
    def voxels(self):
        return prod(self.shape_zyx) * self.time_samples

    def nbytes(self, dtype):
        return self.voxels * DTYPE_BYTES[str(dtype)]


@dataclass(frozen=True)
class Block:
    """One BOSS request: a sub-box of the job's box, for one time sample range."""

    index: int
    x: tuple
    y: tuple
    z: tuple
    t: tuple

    @property
    def shape_zyx(self):
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])


def _cuts(lo, hi, step):
    """Split [lo, hi) at multiples of `step` (grid from 0): [(lo, a), (a, b), ..., (k, hi)]."""
    edges = [lo]
    nxt = (lo // step + 1) * step
    while nxt < hi:
        edges.append(nxt)
        nxt += step
    edges.append(hi)
    return list(zip(edges[:-1], edges[1:]))


def block_shape(box, dtype, max_bytes=DEFAULT_BLOCK_BYTES):
    """Cuboid multiples (bx, by, bz) per block: as wide in x as the box (up to max_bytes), then y."""
    item = DTYPE_BYTES[str(dtype)]
    cx, cy, cz = CUBOID
    budget = max(max_bytes // (item * cz), cx * cy)  # voxels per 16-deep slab
    span_x = -(-(box.x[1] - (box.x[0] // cx) * cx) // cx) * cx  # box x extent rounded out to cuboids
    bx = max(cx, min(span_x, (budget // cy) // cx * cx))
    if bx < span_x and span_x * cy <= 2 * budget:
        # Whole rows, up to twice the budget: each z plane of a block is then one contiguous write into
        # the file instead of one small write per row (512 fewer system calls per plane).
        bx = span_x
    by = max(cy, min(-(-(box.y[1] - (box.y[0] // cy) * cy) // cy) * cy, (budget // bx) // cy * cy))
    return bx, by, cz


def plan_blocks(box, dtype, max_bytes=DEFAULT_BLOCK_BYTES):
    """The blocks of `box`, in file order (t, z, y, x), aligned to the cuboid grid, each <= max_bytes
    (edge blocks are smaller). One time sample per block, so a block is always a 3-D array."""
    bx, by, bz = block_shape(box, dtype, max_bytes)
    blocks = []
    for t in range(*box.t):
        for z in _cuts(*box.z, bz):
            for y in _cuts(*box.y, by):
                for x in _cuts(*box.x, bx):
                    blocks.append(Block(len(blocks), x, y, z, (t, t + 1)))
    return blocks
