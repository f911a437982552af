"""What every writer shares: its error, what "no compression" is called, and a write that finishes."""
import os


def uncompressed(compression):
    """True for no compression: "none", or none given (an older job or a caller that left it out)."""
    return compression in (None, "", "none")


class WriterError(Exception):
    """The file could not be written (disk full, permission, bad shape, a layout the format can't hold):
    the message says why."""


def write_all(fd, parts, offset):
    """pwritev `parts` at `offset`, again for what a short write left."""
    parts = [memoryview(p).cast("B") for p in parts]
    while parts:
        n = os.pwritev(fd, parts, offset)
        offset += n
        while parts and n >= len(parts[0]):
            n -= len(parts[0])
            parts.pop(0)
        if parts:
            parts[0] = parts[0][n:]
