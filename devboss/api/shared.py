"""Small JSON state files in settings.VAR_DIR, shared by every gunicorn worker and thread.

`SharedJson("name.json")`: `read()` re-reads the file only when its mtime changes (cheap enough for every
request), `write()` replaces it atomically, `update()` is a read-modify-write under an exclusive lock
(fcntl.flock on a sibling `.lock` file: it excludes other processes and other threads alike).
"""
import fcntl
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


class SharedJson:
    def __init__(self, name):
        self.name = name
        self._cache = (None, None)  # (mtime_ns, data)
        self._guard = threading.Lock()

    @property
    def path(self):
        return Path(settings.VAR_DIR) / self.name

    def read(self):
        """The file's JSON object ({} if absent or unreadable); do not mutate the result."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._guard:
            cached_mtime, data = self._cache
            if cached_mtime == mtime:
                return data
        data = self._load()
        with self._guard:
            self._cache = (mtime, data)
        return data

    def _load(self):
        """The file's JSON object, or {} when it is absent, unreadable or not an object."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data):
        tmp = self.path.with_name(f".{self.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)  # readers see the old or the new file, never half of one

    def delete(self):
        self.path.unlink(missing_ok=True)

    @contextmanager
    def update(self):
        """`with shared.update() as data:` mutate `data` (a fresh copy); it is written back on exit."""
        with open(self.path.with_name(self.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = self._load()
                yield data
                self.write(data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
