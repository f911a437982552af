"""A ZIP (stored members) written member by member from several threads, and taken up again after a crash.

An OME-Zarr holds a file per chunk: 1,300 of them per GB of uint8, and creating a file costs ~1 ms on the
worker's disk, as long as fetching 0.6 MB from BOSS. Chunks therefore go straight into the result's ZIP
as they are encoded, one member each, appended under a lock; the central directory is written at close.

After a crash the file has members but no central directory. `AppendZip(path, resume=True)` reads the
local headers from the start, keeps every member whose bytes are all there and match their CRC, cuts the
file after the last one and appends from there: what an fsync made durable is kept. A member written
again (a block fetched again after the crash) replaces the earlier one in the directory; its old bytes
stay as dead space.
"""
import os
import struct
import threading
import time
import zipfile
import zlib

HEADER = struct.Struct(zipfile.structFileHeader)


def _members(f, size):
    """(ZipInfo list, end offset of the last whole member) from the local headers of file `f`."""
    found, offset = [], 0
    while offset + HEADER.size <= size:
        f.seek(offset)
        head = HEADER.unpack(f.read(HEADER.size))
        if head[zipfile._FH_SIGNATURE] != zipfile.stringFileHeader:
            break
        if head[zipfile._FH_COMPRESSION_METHOD] != zipfile.ZIP_STORED:
            break
        name_len, extra_len = head[zipfile._FH_FILENAME_LENGTH], head[zipfile._FH_EXTRA_FIELD_LENGTH]
        name = f.read(name_len).decode("utf-8")
        extra = f.read(extra_len)
        csize, usize = head[zipfile._FH_COMPRESSED_SIZE], head[zipfile._FH_UNCOMPRESSED_SIZE]
        if csize == 0xFFFFFFFF and len(extra) >= 20:  # zip64 extra field: uncompressed, then compressed size
            usize, csize = struct.unpack("<QQ", extra[4:20])
        start = offset + HEADER.size + name_len + extra_len
        if csize != usize or start + csize > size:
            break
        data = f.read(csize)
        if len(data) != csize or zlib.crc32(data) != head[zipfile._FH_CRC]:
            break
        info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        info.CRC, info.file_size, info.compress_size, info.header_offset = head[zipfile._FH_CRC], usize, csize, offset
        found.append(info)
        offset = start + csize
    return found, offset


class AppendZip:
    def __init__(self, path, resume=False):
        self.path = os.fspath(path)
        self.lock = threading.Lock()
        self.entries = {}  # name -> ZipInfo: the central directory to write
        self.recovered = 0
        kept = []
        if resume and os.path.exists(self.path):
            raw = open(self.path, "r+b", buffering=0)
            kept, end = _members(raw, os.fstat(raw.fileno()).st_size)
            raw.truncate(end)
            raw.seek(end)
            self.recovered = len(kept)
        else:
            raw = open(self.path, "w+b", buffering=0)  # unbuffered: an fsync through any descriptor has it all
        self._raw = raw
        self._zip = zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        for info in kept:
            self.entries[info.filename] = info

    def names(self):
        return set(self.entries)

    def add(self, name, data):
        """Append member `name` holding `data` (bytes-like)."""
        info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        with self.lock:
            self._zip.writestr(info, data)
            self.entries[name] = self._zip.filelist.pop()
            self._zip.NameToInfo.pop(name, None)

    def add_file(self, name, path):
        with open(path, "rb") as f:
            self.add(name, f.read())

    def close(self):
        """Write the central directory (every member once, the last one written of each name) and fsync."""
        with self.lock:
            self._zip.filelist = list(self.entries.values())
            self._zip.NameToInfo = dict(self.entries)
            self._zip.close()
            os.fsync(self._raw.fileno())
            self._raw.close()

    def abandon(self):
        """Close the file as it is (no directory): a resumed run takes it up, or it is deleted."""
        try:
            self._zip.fp = None  # never write a directory for a file left unfinished
            self._raw.close()
        except OSError:
            pass
