"""boss-cutout's resume manifest: `.boss-cutout.jsonl` in the output folder."""
import json
import os
from datetime import datetime, timezone
from pathlib import Path

MANIFEST = ".boss-cutout.jsonl"


class Manifest:
    """JSON lines in the output folder: the request first (its resource names every channel), then one line
    per finished block with its channel, fsynced; a last line when the whole run is finished.

        {"request": {"resource": "bossdb://demo/cortex/em,fluo", "x": [0, 64], ...}, "started": "..."}
        {"channel": "em", "block": "t0z100-112y0-64x0-64"}
        {"finished": "..."}

    A block line without a channel (written before multi-channel runs) belongs to the request's first channel.
    """

    def __init__(self, folder):
        self.path = Path(folder) / MANIFEST
        self.request = None
        self.done = {}  # channel -> ids of its finished blocks
        self.finished = False
        self._file = None

    def channel(self, name):
        """The view of one channel that prepare() and download() work with."""
        return ChannelLog(self, name)

    def load(self):
        if not self.path.exists():
            return False
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):  # a line cut short by a kill: drop it
            raw = raw[: raw.rfind(b"\n") + 1]
            with open(self.path, "r+b") as f:
                f.truncate(len(raw))
        for line in raw.decode("utf-8", "replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "request" in entry and self.request is None:
                self.request = entry["request"]
            elif "block" in entry:
                self.done.setdefault(entry.get("channel") or self._first_channel(), set()).add(entry["block"])
            elif entry.get("finished"):
                self.finished = True
        return self.request is not None

    def _append(self, *entries):
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write("".join(json.dumps(entry) + "\n" for entry in entries))
        self._file.flush()
        os.fsync(self._file.fileno())

    def start(self, identity):
        self.request = identity
        self._append({"request": identity, "started": datetime.now(timezone.utc).isoformat()})
        fsync_dir(self.path.parent)

    def _first_channel(self):
        try:
            return str(self.request["resource"]).rstrip("/").rsplit("/", 1)[1].split(",")[0]
        except (TypeError, KeyError, IndexError):
            return ""

    def record_all(self, channel, bids):
        """Record finished blocks of `channel`, with one fsync."""
        self.done.setdefault(channel, set()).update(bids)
        self._append(*({"channel": channel, "block": bid} for bid in bids))

    def finish(self):
        self.finished = True
        self._append({"finished": datetime.now(timezone.utc).isoformat()})

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class ChannelLog:
    """One channel's finished blocks in the manifest: `done` (a set, shared with the manifest) and record_all()."""

    def __init__(self, manifest, channel):
        self.manifest, self.channel = manifest, channel
        self.done = manifest.done.setdefault(channel, set())

    def record_all(self, bids):
        self.manifest.record_all(self.channel, bids)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def differences(mine, theirs):
    keys = sorted(set(mine) | set(theirs))
    return ", ".join(f"{k}: {_fmt(mine.get(k))} now, {_fmt(theirs.get(k))} before"
                     for k in keys if mine.get(k) != theirs.get(k))


def _fmt(value):
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]}:{value[1]}"
    return str(value)
