"""What every writer shares: its error, what "no compression" is called, a write that finishes (through the
page cache or with O_DIRECT), and the buffers each writing thread keeps."""
import errno
import os
import threading

import numpy as np

DIRECT_ALIGN = 4096  # offset, length and memory of an O_DIRECT write are multiples of this (tiff.py says more)
_local = threading.local()


TIFF_COMPRESSIONS = ("none", "zstd", "deflate")  # what a TIFF of ours takes (ctiff.py writes the compressed ones)


def uncompressed(compression):
    """True for no compression: "none", or none given (an older job or a caller that left it out)."""
    return compression in (None, "", "none")


def effective_flavour(flavour, dtype):
    """The TIFF flavour a file of `dtype` gets: OME-TIFF has no uint64, an ImageJ TIFF only uint8 and uint16 (a
    plain TIFF instead)."""
    dtype = np.dtype(dtype)
    if flavour == "ome" and dtype == np.uint64:
        return "tiff"
    if flavour == "imagej" and dtype not in (np.uint8, np.uint16):
        return "tiff"
    return flavour


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


def scratch(shape, dtype, use="chunk"):
    """An array of `shape` and `dtype` this thread reuses for `use` (its contents are whatever was last
    written): one buffer per thread and use, grown to the largest asked for, freed with the thread; its memory
    starts on a DIRECT_ALIGN boundary, so that what is put in it can go out with O_DIRECT."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(use)
    if buf is None or buf.nbytes < nbytes:
        raw = np.empty(nbytes + DIRECT_ALIGN, np.uint8)
        skip = -raw.ctypes.data % DIRECT_ALIGN
        buf = buffers[use] = raw[skip:skip + nbytes]
    return buf[:nbytes].view(dtype).reshape(shape)
