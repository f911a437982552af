"""The shared chunk cache: a bounded folder of encoded chunks, shared by every web process on the machine.

Why disk and not the Django cache: chunks are megabytes each and the Redis of `make run` is Celery's
broker too; a folder has its own bound (ZARR_CACHE_BYTES), costs no memory beyond the page cache, and
files are read by every gunicorn worker alike. Point ZARR_CACHE_DIR at a shared volume to share it more.

- `get_or_fetch(key, fetch)`: a hit is returned at once; on a miss one caller per key fetches (a file
  lock, so ten readers of one cold chunk, in any thread or process, cost BOSS one read) and the others
  read what it stored. Errors are not cached: the next reader asks BOSS again.
- Entries older than ZARR_CACHE_SECONDS are fetched again (BOSS's data can be written to).
- When more than a tenth of the bound has been written since the last look, the oldest-used entries
  are deleted down to 90 % of the bound.

Keys are chosen by the caller (zarrview.views): by channel for public reads, by link for private ones,
so one user's data is never served to another. Entry = a small header (when written, a digest for the
ETag) and the chunk; names are hashes of the key.
"""
import fcntl
import hashlib
import os
import struct
import tempfile
import threading
import time

from django.conf import settings

HEADER = struct.Struct("<4sd16s")  # magic, written at (Unix time), blake2b-128 digest of the chunk
MAGIC = b"ZC01"
LOCK_STRIPES = 1024  # lock files, shared by keys: bounded, never cleaned up

_written = {"bytes": 0}
_trim_lock = threading.Lock()


def digest(data):
    return hashlib.blake2b(data, digest_size=16).digest()


class ChunkCache:
    def __init__(self, folder, max_bytes, max_age):
        self.folder = os.fspath(folder)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.enabled = max_bytes > 0
        if self.enabled:
            os.makedirs(os.path.join(self.folder, "locks"), exist_ok=True)

    def _path(self, name):
        return os.path.join(self.folder, name[:2], name)

    def _read(self, path):
        """(data, digest) of a fresh entry, or None."""
        try:
            with open(path, "rb") as f:
                head = f.read(HEADER.size)
                magic, written, tag = HEADER.unpack(head)
                if magic != MAGIC or time.time() - written > self.max_age:
                    return None
                data = f.read()
            os.utime(path)  # the trim deletes the least recently used first
            return data, tag
        except (OSError, struct.error):
            return None

    def _write(self, path, data, tag):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(HEADER.pack(MAGIC, time.time(), tag))
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            if os.path.exists(tmp):
                os.unlink(tmp)
            return  # a full disk costs a cache entry, never the answer
        self._maybe_trim(len(data) + HEADER.size)

    def get_or_fetch(self, key, fetch):
        """(chunk bytes, digest, hit): from the cache, or from `fetch()` (stored for the next reader)."""
        if not self.enabled:
            data = fetch()
            return data, digest(data), False
        name = hashlib.sha256(key.encode()).hexdigest()
        path = self._path(name)
        found = self._read(path)
        if found:
            return found[0], found[1], True
        stripe = os.path.join(self.folder, "locks", f"{int(name[:8], 16) % LOCK_STRIPES}")
        with open(stripe, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch per key; others wait and read its entry
            try:
                found = self._read(path)
                if found:
                    return found[0], found[1], True
                data = fetch()
                tag = digest(data)
                self._write(path, data, tag)
                return data, tag, False
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _maybe_trim(self, added):
        with _trim_lock:
            _written["bytes"] += added
            if _written["bytes"] < self.max_bytes / 10:
                return
            _written["bytes"] = 0
        self.trim()

    def entries(self):
        """[(last used, size, path)] of every entry."""
        out = []
        for sub in os.scandir(self.folder):
            if not sub.is_dir() or sub.name == "locks":
                continue
            for entry in os.scandir(sub.path):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                out.append((st.st_mtime, st.st_size, entry.path))
        return out

    def size(self):
        return sum(size for _, size, _ in self.entries())

    def trim(self):
        """Delete the least recently used entries until the folder holds at most 90 % of the bound."""
        entries = sorted(self.entries())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.max_bytes * 0.9:
                break
            try:
                os.unlink(path)
                total -= size
            except OSError:
                pass


def chunk_cache():
    return ChunkCache(settings.ZARR_CACHE_DIR, settings.ZARR_CACHE_BYTES, settings.ZARR_CACHE_SECONDS)
