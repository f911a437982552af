"""Delivery in parts: a box over the web cap, split along z on BOSS cuboid boundaries (16 slices), each
part a file of its own under the cap, written once and downloadable (and resumable) on its own."""
from cutouts.blocks import CUBOID, _cuts

CUBOID_Z = CUBOID[2]


class PartsTooLarge(ValueError):
    pass


def part_ranges(z, bytes_per_slice, part_bytes):
    """[(z0, z1), ...] covering `z` (half-open), cut at multiples of a depth that is a multiple of 16
    (counted from 0, as BOSS's cuboids are), each part at most `part_bytes`."""
    depth = (part_bytes // max(bytes_per_slice, 1)) // CUBOID_Z * CUBOID_Z
    if depth < CUBOID_Z:
        raise PartsTooLarge(
            f"even a part of {CUBOID_Z} slices would be {bytes_per_slice * CUBOID_Z / 1e9:.2f} GB, over the "
            f"{part_bytes / 1e9:.2f} GB a part may hold: choose a smaller x/y range or a coarser level"
        )
    return _cuts(*z, depth)
