"""What every writer shares: its error, what "no compression" is called, and a write that finishes, through
the page cache or with O_DIRECT."""
import errno
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


def write_direct(fd, parts, offset):
    """write_all on an O_DIRECT descriptor: True once written; False when the file system refuses the
    alignment after all (EINVAL: it took the O_DIRECT open, not these pieces' offsets or lengths), and the
    caller writes them, and whatever comes next, through the page cache. Any other error is raised."""
    try:
        write_all(fd, parts, offset)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return False
    return True
