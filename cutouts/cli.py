"""boss-cutout: download any box of BOSS channels as TIFF stacks (or OME-TIFFs), resumably.

    boss-cutout bossdb://demo/cortex/em --res 0 -x 0:2048 -y 0:2048 -z 100:228 --out em/
    boss-cutout bossdb://demo/cortex/em,fluo,seg -x 0:1024 -y 0:1024 -z 100:140 --out box/
    python -m cutouts.cli bossdb://COLL/EXP/CHAN[,CHAN...] [bossdb://COLL/EXP/CHAN ...] --res R
        -x X0:X1 -y Y0:Y1 -z Z0:Z1 --out DIR [options]

Channels: several channels of one experiment download in one run, the same box of each, one channel after
the other. Name them comma-separated in the last part of the resource (`bossdb://demo/cortex/em,fluo`), or
give several resources of the same collection and experiment (`bossdb://demo/cortex/em
bossdb://demo/cortex/fluo`), or both. Channels of another experiment, an empty name (`em,,fluo`) or a
channel named twice are usage errors. Every channel's metadata and box are checked before anything is
downloaded, so an unknown channel among several stops the run before its first block. Each channel keeps
its own datatype (uint8 em, uint16 fluo, uint64 seg...) and its own files.

Ranges are half-open (start:stop) in the voxel grid of resolution R. The box is cut into blocks aligned to
BOSS's 512x512x16 cuboids (cutouts/blocks.py, as the portal's jobs are), fetched in parallel and written
straight into place (cutouts/writers.py), so memory stays bounded by a few blocks whatever the box.

Output in DIR: for each channel, one 2-D TIFF per z slice, `<channel>_z<z>.tif` with zero-padded absolute z
(the default `--format tiff-stack`; the voxel size is in the resolution tags plus ImageJ spacing/unit for
uint8/uint16, else in tifffile's JSON description), or one BigTIFF OME-TIFF named
`<collection>_<experiment>_<channel>_r<R>_x.._y.._z...ome.tif` (`--format ome-tiff`); plus one
provenance.json describing every channel. File names carry the channel, so channels never collide.

Resuming: DIR holds `.boss-cutout.jsonl`, a manifest of the request's arguments (all its channels: the
resource is recorded as `bossdb://COLL/EXP/em,fluo`) and of every finished block, tagged with its channel
(fsynced after the block's data). Rerun the same command after Ctrl-C, a lost network or a kill and it
continues without fetching finished blocks again: channels already done are skipped, the interrupted one
resumes at its first missing block. A rerun with other arguments (another box, format, or channel list) is
refused. Slices of a 16-deep z slab are written as `.part` files and renamed into place only when all the
slab's blocks are in, so a file with a final name is always complete.

--dry-run prints, for every channel, its size, datatype, block count and files, then the total.

Token: --token-file F, else the environment variable BOSS_TOKEN, else "public" (public data only).
BOSS URL: --boss-url, else BOSS_URL, else https://api.bossdb.io.

Exit codes:
  0    done (also --dry-run, and a rerun of a download that had already finished)
  1    unexpected error (a bug: the traceback is printed)
  2    bad arguments: syntax, a range that is not two integers or is reversed, a box outside the frame at
       that resolution, a resolution or time range the experiment lacks, a bad channel list (an empty
       name, a duplicate, channels of different experiments), or BOSS refused the request (400)
  3    unknown resource: no such collection, experiment or channel (404), for any of the channels
  4    token missing or rejected: unreadable or empty token file, or BOSS answered 401/403
  5    BOSS unreachable or failing: connection errors, timeouts or 5xx after every retry
  6    output folder problem: it holds an unfinished download with other arguments, or files this
       command did not write, or the disk refused a write
  130  interrupted (Ctrl-C, SIGTERM): rerun the same command to resume
"""
import argparse
import json
import os
import queue
import re
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from math import ceil, floor, prod
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import numpy as np
import requests

from cutouts import recipes
from cutouts.blocks import Box, plan_blocks
from cutouts.writers import VolumeTiff, WriterError, calibration, effective_flavour
from portal.boss.errors import (
    BossBadRequest, BossError, BossForbidden, BossNotFound, BossUnavailable,
)
from portal.boss.volume import error_from_response, read_block

DEFAULT_BOSS_URL = "https://api.bossdb.io"
DEFAULT_BLOCK_MB = 16
MANIFEST = ".boss-cutout.jsonl"
SIDECAR = "provenance.json"
TIMEOUT = (10, 120)  # connect, read (seconds)
FORMATS = ("tiff-stack", "ome-tiff")
VERSION = "0.1.0"

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5, 6
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure whose message is for the user, with the exit code documented above."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Interrupted(Exception):
    pass


# --- Arguments ------------------------------------------------------------------------------------------

RESOURCE = re.compile(r"^bossdb://([^/\s]+)/([^/\s]+)/([^/\s]+)/?$")


def parse_resource(text):
    match = RESOURCE.match(text)
    if not match:
        raise CliError(EXIT_USAGE, f"resource must look like bossdb://collection/experiment/channel, got {text!r}")
    return match.groups()


def parse_resources(texts):
    """(collection, experiment, [channels]) from resources of one experiment, each naming one channel or
    several comma-separated (bossdb://c/e/em,fluo); the channels in the order given."""
    collection = experiment = None
    channels = []
    for text in texts:
        coll, exp, names = parse_resource(text)
        if collection is None:
            collection, experiment, first = coll, exp, text
        elif (coll, exp) != (collection, experiment):
            raise CliError(EXIT_USAGE, f"all channels must belong to one experiment: {text!r} is not in "
                                       f"{collection}/{experiment} (from {first!r}); run boss-cutout once per "
                                       "experiment, each with its own --out folder")
        for name in names.split(","):
            if not name:
                raise CliError(EXIT_USAGE, f"empty channel name in {text!r}: separate channel names with single "
                                           "commas, e.g. bossdb://collection/experiment/em,fluo")
            if name in channels:
                raise CliError(EXIT_USAGE, f"channel {name!r} is given twice; name each channel once")
            channels.append(name)
    return collection, experiment, channels


def parse_range(axis, text):
    """'a:b' as two integers with a < b."""
    parts = text.split(":")
    if len(parts) != 2 or not all(re.fullmatch(r"\s*-?\d+\s*", p) for p in parts):
        raise CliError(EXIT_USAGE, f"-{axis} must be START:STOP with two whole numbers (half-open), got {text!r}")
    lo, hi = int(parts[0]), int(parts[1])
    if lo >= hi:
        raise CliError(EXIT_USAGE, f"-{axis} {text}: start must be less than stop (ranges are half-open)")
    return lo, hi


def read_token(token_file):
    if token_file:
        try:
            token = Path(token_file).expanduser().read_text().strip()
        except OSError as exc:
            raise CliError(EXIT_AUTH, f"cannot read the token file {token_file}: {exc.strerror or exc}") from exc
        if not token:
            raise CliError(EXIT_AUTH, f"the token file {token_file} is empty")
        return token
    return os.environ.get("BOSS_TOKEN", "").strip() or "public"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="boss-cutout",
        description="Download a box of one or more BOSS channels (of one experiment) as TIFF stacks or "
                    "OME-TIFFs, resumably.",
        epilog=__doc__[__doc__.index("Channels:"):__doc__.index("\n\nRanges are")] + "\n\n"
        + __doc__[__doc__.index("Exit codes:"):],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("resources", nargs="+", metavar="resource",
                        help="bossdb://collection/experiment/channel; several channels of one experiment as "
                             "bossdb://collection/experiment/em,fluo or as more resources")
    parser.add_argument("--res", type=int, default=0, help="resolution level (default 0)")
    parser.add_argument("-x", required=True, metavar="X0:X1", help="half-open x range at that resolution")
    parser.add_argument("-y", required=True, metavar="Y0:Y1")
    parser.add_argument("-z", required=True, metavar="Z0:Z1")
    parser.add_argument("-t", metavar="T0:T1", help="time samples (default: the channel's default one)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if needed)")
    parser.add_argument("--format", choices=FORMATS, default="tiff-stack")
    parser.add_argument("--workers", type=int, default=4, help="parallel requests (default 4)")
    parser.add_argument("--token-file", metavar="F", help="file holding a BOSS API token (else env BOSS_TOKEN)")
    parser.add_argument("--boss-url", default=None, help=f"default: env BOSS_URL, else {DEFAULT_BOSS_URL}")
    parser.add_argument("--retries", type=int, default=5, help="retries per block on 5xx/timeouts (default 5)")
    parser.add_argument("--block-mb", type=int, default=DEFAULT_BLOCK_MB, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only errors")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each channel's size, blocks and files and the total, then exit")
    return parser


@dataclass
class Request:
    boss_url: str
    collection: str
    experiment: str
    channel: str
    resolution: int
    x: tuple
    y: tuple
    z: tuple
    t: tuple = None
    format: str = "tiff-stack"
    block_mb: int = DEFAULT_BLOCK_MB

    def identity(self):
        """What a resumed run must share with the first one (not workers, quiet or the token)."""
        return {
            "resource": f"bossdb://{self.collection}/{self.experiment}/{self.channel}", "boss_url": self.boss_url,
            "res": self.resolution, "x": list(self.x), "y": list(self.y), "z": list(self.z),
            "t": list(self.t) if self.t else None, "format": self.format, "block_mb": self.block_mb,
        }


def run_identity(reqs):
    """The identity of a run over the channels of `reqs` (one Request per channel, same box): a single
    channel's, with the resource naming every channel in order (bossdb://c/e/em,fluo)."""
    identity = reqs[0].identity()
    identity["resource"] = f"bossdb://{reqs[0].collection}/{reqs[0].experiment}/" + ",".join(r.channel for r in reqs)
    return identity


def requests_from_args(args):
    """One Request per channel named on the command line, all for the same box."""
    collection, experiment, channels = parse_resources(args.resources)
    boss_url = (args.boss_url or os.environ.get("BOSS_URL") or DEFAULT_BOSS_URL).rstrip("/")
    if urlsplit(boss_url).scheme not in ("http", "https") or not urlsplit(boss_url).netloc:
        raise CliError(EXIT_USAGE, f"--boss-url must be an http(s) URL, got {boss_url!r}")
    if args.res < 0:
        raise CliError(EXIT_USAGE, f"--res must be 0 or more, got {args.res}")
    if args.workers < 1 or args.workers > 64:
        raise CliError(EXIT_USAGE, f"--workers must be between 1 and 64, got {args.workers}")
    if args.retries < 0 or args.block_mb < 1:
        raise CliError(EXIT_USAGE, "--retries must be 0 or more and --block-mb at least 1")
    box = (parse_range("x", args.x), parse_range("y", args.y), parse_range("z", args.z),
           parse_range("t", args.t) if args.t else None)
    return [Request(boss_url, collection, experiment, channel, args.res, *box, args.format, args.block_mb)
            for channel in channels]


# --- BOSS -------------------------------------------------------------------------------------------------

class TokenAuth(requests.auth.AuthBase):
    """Set the header after intern set its own (a `%` in a token would break intern's INI config)."""

    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Token {self.token}"
        return r


def make_remote(boss_url, token):
    """intern's BossRemote with the token and a timeout on every request. One per thread."""
    from intern.remote.boss import BossRemote

    parts = urlsplit(boss_url)
    rmt = BossRemote({"protocol": parts.scheme, "host": parts.netloc + parts.path, "token": "placeholder"})
    for svc in (rmt.project_service, rmt.metadata_service, rmt.volume_service):
        svc.session.auth = TokenAuth(token)
        svc.session_send_opts = {**svc.session_send_opts, "timeout": TIMEOUT}
    return rmt


def exit_code_for(exc):
    if isinstance(exc, BossForbidden):
        return EXIT_AUTH
    if isinstance(exc, BossNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, BossBadRequest):
        return EXIT_USAGE
    return EXIT_UNAVAILABLE


class Retry:
    def __init__(self, retries, backoff=None):
        self.retries = retries
        self.backoff = float(os.environ.get("BOSS_CUTOUT_BACKOFF", 0.5)) if backoff is None else backoff

    def call(self, what, fn, *args):
        """fn(*args), retried with exponential backoff on BossUnavailable (5xx, timeouts, connection)."""
        for attempt in range(self.retries + 1):
            try:
                return fn(*args)
            except BossUnavailable as exc:
                if attempt == self.retries:
                    raise CliError(EXIT_UNAVAILABLE, f"BOSS failed on {what} after {attempt + 1} tries: "
                                                     f"{exc.message}") from exc
                time.sleep(self.backoff * 2**attempt)
            except BossError as exc:
                what_msg = {EXIT_AUTH: "BOSS refused the token", EXIT_NOT_FOUND: "BOSS has no such resource",
                            EXIT_USAGE: "BOSS refused the request"}[exit_code_for(exc)]
                raise CliError(exit_code_for(exc), f"{what_msg} ({what}): {exc.message}") from exc


def boss_call(fn, *args):
    """An intern call, with its exceptions as portal.boss.errors."""
    try:
        return fn(*args)
    except requests.HTTPError as exc:
        if exc.response is None:
            raise BossUnavailable(str(exc)) from exc
        raise error_from_response(exc.response) from exc
    except requests.RequestException as exc:
        raise BossUnavailable(f"cannot reach BOSS ({type(exc).__name__})") from exc


@dataclass
class Meta:
    datatype: str
    channel_type: str
    voxel_size: tuple  # level 0, (x, y, z)
    voxel_unit: str
    hierarchy_method: str
    levels: int
    base_resolution: int
    time_samples: int
    bounds: dict = field(default_factory=dict)  # resolution -> {"x": (start, stop), ...}


def computed_bounds(frame, levels, hierarchy_method):
    """Level extents as boss-api.md section 6.1 says: stops halve (rounded up) per level in x and y, and in
    z when isotropic; starts are the frame's, scaled down."""
    stops = [frame.x_stop, frame.y_stop, frame.z_stop]
    starts = (frame.x_start, frame.y_start, frame.z_start)
    out = {}
    for r in range(levels):
        scale = (2**r, 2**r, 2**r if hierarchy_method == "isotropic" else 1)
        out[r] = {axis: (floor(starts[i] / scale[i]), stops[i]) for i, axis in enumerate("xyz")}
        stops = [ceil(stops[0] / 2), ceil(stops[1] / 2), ceil(stops[2] / 2) if scale[2] > 1 else stops[2]]
    return out


def downsample_bounds(req, token, frame, hierarchy_method):
    """Level extents from GET /v1/downsample (section 6.1), or None when BOSS won't say."""
    url = f"{req.boss_url}/v1/downsample/" + "/".join(quote(p, safe="") for p in
                                                       (req.collection, req.experiment, req.channel))
    try:
        with requests.Session() as session:
            session.auth = TokenAuth(token)
            response = session.get(url, timeout=TIMEOUT)
        if response.status_code != 200:
            return None
        extent = response.json()["extent"]
        out = {}
        for key, stops in extent.items():
            r = int(key)
            scale = (2**r, 2**r, 2**r if hierarchy_method == "isotropic" else 1)
            starts = (frame.x_start, frame.y_start, frame.z_start)
            out[r] = {axis: (floor(starts[i] / scale[i]), int(stops[i])) for i, axis in enumerate("xyz")}
        return out
    except (requests.RequestException, ValueError, KeyError, TypeError, IndexError):
        return None


def fetch_meta(req, token, retry):
    rmt = make_remote(req.boss_url, token)
    where = f"{req.collection}/{req.experiment}/{req.channel}"
    chan = retry.call(f"channel {where}", boss_call, rmt.get_channel, req.channel, req.collection, req.experiment)
    exp = retry.call(f"experiment {req.collection}/{req.experiment}", boss_call, rmt.get_experiment,
                     req.collection, req.experiment)
    frame = retry.call(f"coordinate frame {exp.coord_frame}", boss_call, rmt.get_coordinate_frame, exp.coord_frame)
    method = exp.hierarchy_method or "anisotropic"
    levels = int(exp.num_hierarchy_levels)
    bounds = downsample_bounds(req, token, frame, method) or computed_bounds(frame, levels, method)
    return Meta(
        datatype=str(chan.datatype), channel_type=str(chan.type or "image"),
        voxel_size=(frame.x_voxel_size, frame.y_voxel_size, frame.z_voxel_size),
        voxel_unit=frame.voxel_unit, hierarchy_method=method, levels=levels,
        base_resolution=int(chan.base_resolution or 0), time_samples=int(exp.num_time_samples or 1), bounds=bounds,
    )


def check_box(req, meta):
    """CliError(2) naming the first axis outside the frame at the requested resolution."""
    name = f"{req.collection}/{req.experiment}"
    if req.resolution not in meta.bounds or req.resolution < meta.base_resolution:
        available = sorted(r for r in meta.bounds if r >= meta.base_resolution)
        raise CliError(EXIT_USAGE, f"--res {req.resolution}: {name} has resolutions "
                                   f"{available[0]}..{available[-1]}")
    bounds = meta.bounds[req.resolution]
    for axis in "xyz":
        lo, hi = getattr(req, axis)
        start, stop = bounds[axis]
        if lo < start or hi > stop:
            raise CliError(EXIT_USAGE, f"-{axis} {lo}:{hi} is outside the frame: at resolution {req.resolution} "
                                       f"{axis} must lie within {start}:{stop}")
    if req.t and req.t[1] > meta.time_samples:
        raise CliError(EXIT_USAGE, f"-t {req.t[0]}:{req.t[1]}: {name} has time samples 0:{meta.time_samples}")


# --- Plan: blocks, slabs, files ---------------------------------------------------------------------------

def block_id(b):
    return f"t{b.t[0]}z{b.z[0]}-{b.z[1]}y{b.y[0]}-{b.y[1]}x{b.x[0]}-{b.x[1]}"


def stem(req):
    parts = [req.collection, req.experiment, req.channel, f"r{req.resolution}", f"x{req.x[0]}-{req.x[1]}",
             f"y{req.y[0]}-{req.y[1]}", f"z{req.z[0]}-{req.z[1]}"]
    if req.t:
        parts.append(f"t{req.t[0]}-{req.t[1]}")
    return "_".join(parts)


@dataclass
class Slab:
    """Blocks written into the same set of files, renamed into place together when all are in."""

    key: str
    t: int
    z: tuple
    blocks: list
    files: list  # final names, in z order (one per slice, or the one OME-TIFF)


@dataclass
class Plan:
    box: Box
    dtype: str
    blocks: list
    slabs: list

    @property
    def nbytes(self):
        return self.box.nbytes(self.dtype)

    def files(self):
        return [name for slab in self.slabs for name in slab.files]


def slice_name(req, z, t=None):
    width = max(5, len(str(req.z[1] - 1)))
    if req.t:
        return f"{req.channel}_t{t:0{max(3, len(str(req.t[1] - 1)))}d}_z{z:0{width}d}.tif"
    return f"{req.channel}_z{z:0{width}d}.tif"


def make_plan(req, meta):
    t = req.t or (0, 1)
    box = Box(req.x, req.y, req.z, t)
    blocks = plan_blocks(box, meta.datatype, req.block_mb * 1024 * 1024)
    if req.format == "ome-tiff":
        suffix = ".tif" if effective_flavour("ome", meta.datatype) != "ome" else ".ome.tif"
        return Plan(box, meta.datatype, blocks, [Slab("all", t[0], req.z, blocks, [stem(req) + suffix])])
    slabs = {}
    for b in blocks:
        key = f"t{b.t[0]}z{b.z[0]}-{b.z[1]}"
        if key not in slabs:
            files = [slice_name(req, z, b.t[0]) for z in range(*b.z)]
            slabs[key] = Slab(key, b.t[0], b.z, [], files)
        slabs[key].blocks.append(b)
    return Plan(box, meta.datatype, blocks, list(slabs.values()))


# --- Manifest ---------------------------------------------------------------------------------------------

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

    def _append(self, entry):
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(json.dumps(entry) + "\n")
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

    def record(self, channel, bid):
        self.done.setdefault(channel, set()).add(bid)
        self._append({"channel": channel, "block": bid})

    def finish(self):
        self.finished = True
        self._append({"finished": datetime.now(timezone.utc).isoformat()})

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class ChannelLog:
    """One channel's finished blocks in the manifest: `done` (a set, shared with the manifest) and record()."""

    def __init__(self, manifest, channel):
        self.manifest, self.channel = manifest, channel
        self.done = manifest.done.setdefault(channel, set())

    def record(self, bid):
        self.manifest.record(self.channel, bid)


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


# --- Writing ----------------------------------------------------------------------------------------------

class SlabWriter:
    """The open files of one slab and where each block goes in them."""

    def __init__(self, req, plan, slab, cal, folder, only=None):
        self.slab = slab
        self.box = plan.box
        self.ome = req.format == "ome-tiff"
        zyx = plan.box.shape_zyx
        if self.ome:
            self.files = [VolumeTiff(folder / slab.files[0], zyx, plan.dtype, cal, flavour="ome",
                                     times=plan.box.time_samples, channel_names=(req.channel,), resume=True)]
        else:
            # ImageJ spacing/unit for uint8/uint16; writers fall back to JSON metadata for uint64
            self.files = [VolumeTiff(folder / name, (1, zyx[1], zyx[2]), plan.dtype, cal, flavour="imagej",
                                     plane=True, resume=True) for name in slab.files]
        if only is not None:  # just these files, to finish renames (no writes)
            self.files = [f for f in self.files if os.path.basename(f.path) in only]

    def open(self):
        """Open every file; True if all of them were resumed from an earlier run (their blocks are kept)."""
        try:
            for f in self.files:
                f.open()
        except WriterError:
            self.close()
            raise
        return all(f.resumed for f in self.files)

    def write(self, block, data):
        y0, x0 = block.y[0] - self.box.y[0], block.x[0] - self.box.x[0]
        if self.ome:
            self.files[0].write_block(data, block.z[0] - self.box.z[0], y0, x0, t=block.t[0] - self.box.t[0])
            self.files[0].flush()
            return
        first = block.z[0] - self.slab.z[0]
        for dz in range(data.shape[0]):
            out = self.files[first + dz]
            out.write_block(data[dz:dz + 1], 0, y0, x0)
            out.flush()

    def commit(self):
        for f in self.files:
            f.commit()

    def close(self):
        for f in self.files:
            f.close_partial()


class Fetcher:
    """One intern remote per thread; retries transient failures with exponential backoff."""

    def __init__(self, req, token, dtype, retry):
        self.req, self.token, self.dtype, self.retry = req, token, dtype, retry
        self.local = threading.local()

    def remote(self):
        if getattr(self.local, "remote", None) is None:
            self.local.remote = make_remote(self.req.boss_url, self.token)
        return self.local.remote

    def __call__(self, block):
        req = self.req
        t = block.t if req.t else None

        def once():
            return read_block(self.remote(), req.collection, req.experiment, req.channel, self.dtype,
                              req.resolution, block.x, block.y, block.z, t)

        data = self.retry.call(f"block {block_id(block)}", once)
        return data[0] if t else data


class Pool:
    """N daemon threads running fn(item): an interrupted run exits at once, not after the requests in flight."""

    def __init__(self, n, fn):
        self.tasks, self.results = queue.Queue(), queue.Queue()
        self.fn = fn
        for i in range(n):
            threading.Thread(target=self._work, name=f"fetch-{i}", daemon=True).start()

    def _work(self):
        while True:
            item = self.tasks.get()
            try:
                self.results.put((item, self.fn(item), None))
            except BaseException as exc:  # handed to the main thread, which decides
                self.results.put((item, None, exc))

    def submit(self, item):
        self.tasks.put(item)

    def next_result(self):
        return self.results.get()


def prepare(req, plan, manifest, folder, cal):
    """Finish slabs an earlier run completed, reopen those it left half done. Returns (open writers, todo).

    `manifest` is the channel's view of the manifest (Manifest.channel: `done` and `record`)."""
    writers, todo = {}, []
    for slab in plan.slabs:
        ids = [block_id(b) for b in slab.blocks]
        done = [i for i in ids if i in manifest.done]
        if len(done) == len(ids):
            # Killed between the last block and the renames: rename the staging files still waiting.
            waiting = [name for name in slab.files if not (folder / name).exists()]
            if not waiting:
                continue
            finisher = SlabWriter(req, plan, slab, cal, folder, only=waiting)
            if finisher.open():
                finisher.commit()
                continue
            finisher.close()
            manifest.done.difference_update(ids)  # a slice is lost: fetch the whole slab again
            done = []
        if done:
            writer = SlabWriter(req, plan, slab, cal, folder)
            if not writer.open():  # a staging file is gone or damaged: fetch the whole slab again
                manifest.done.difference_update(ids)
                done = []
            writers[slab.key] = writer
        todo.extend(b for b in slab.blocks if block_id(b) not in manifest.done)
    return writers, todo


def download(req, plan, manifest, folder, cal, fetcher, workers, progress):
    slab_of = {block_id(b): s for s in plan.slabs for b in s.blocks}
    writers, todo = prepare(req, plan, manifest, folder, cal)
    remaining = {s.key: sum(block_id(b) not in manifest.done for b in s.blocks) for s in plan.slabs}
    itemsize = np.dtype(plan.dtype).itemsize
    progress.update(sum(prod(b.shape_zyx) * itemsize for b in plan.blocks) - sum(
        prod(b.shape_zyx) * itemsize for b in todo))
    pool = Pool(workers, fetcher)
    pending, in_flight = list(reversed(todo)), 0
    try:
        while pending or in_flight:
            while pending and in_flight < workers:
                block = pending.pop()
                slab = slab_of[block_id(block)]
                if slab.key not in writers:
                    writers[slab.key] = SlabWriter(req, plan, slab, cal, folder)
                    writers[slab.key].open()
                pool.submit(block)
                in_flight += 1
            block, data, exc = pool.next_result()
            in_flight -= 1
            if exc is not None:
                raise exc
            slab = slab_of[block_id(block)]
            writers[slab.key].write(block, data)
            manifest.record(block_id(block))
            progress.update(data.nbytes)
            del data
            remaining[slab.key] -= 1
            if remaining[slab.key] == 0:
                writers.pop(slab.key).commit()
                fsync_dir(folder)
    finally:
        for writer in writers.values():
            writer.close()


# --- Provenance and the command line for a box ------------------------------------------------------------

def sidecar(reqs, metas, cal, files, started, command):
    """The web jobs' provenance.json (cutouts/engine.py `_sidecar`), for a command-line download of the
    channels of `reqs` (one Request per channel, same box) with their `metas`."""
    req = reqs[0]
    t0, t1 = req.t or (0, 1)
    job = SimpleNamespace(
        meta={"boss_url": req.boss_url}, collection=req.collection, experiment=req.experiment,
        resolution=req.resolution, x0=req.x[0], x1=req.x[1], y0=req.y[0], y1=req.y[1], z0=req.z[0], z1=req.z[1],
        t0=t0, t1=t1, time_range=bool(req.t),
    )
    doc = {
        "portal_version": VERSION,
        "job": None,
        "tool": "boss-cutout",
        "command": command,
        "boss_url": req.boss_url,
        "collection": req.collection,
        "experiment": req.experiment,
        "channels": {
            r.channel: {
                "datatype": meta.datatype,
                "type": meta.channel_type,
                "resource": f"bossdb://{r.collection}/{r.experiment}/{r.channel}",
                "rest_url": recipes.rest_url(job, r.channel),
                "intern": recipes.intern_snippet(job, r.channel),
            }
            for r, meta in zip(reqs, metas)
        },
        "resolution": req.resolution,
        "box_voxels": {"x": list(req.x), "y": list(req.y), "z": list(req.z), "t": [t0, t1]},
        "box_physical": {
            "x": [req.x[0] * cal.x, req.x[1] * cal.x], "y": [req.y[0] * cal.y, req.y[1] * cal.y],
            "z": [req.z[0] * cal.z, req.z[1] * cal.z], "unit": cal.unit,
        },
        "voxel_size": {"x": cal.x, "y": cal.y, "z": cal.z, "unit": cal.unit},
        "format": req.format,
        "files": files,
        "viewer_url": "",
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
    }
    return json.dumps(doc, indent=2)


def command_line(boss_url, collection, experiment, channel, resolution, x, y, z, t=None, token="file", out=None):
    """The exact shell command that downloads this box, with the token as a placeholder.

    `channel` is a channel name or a list of them (one run downloads them all: bossdb://c/e/em,fluo).
    token="file" reads it from ~/.boss-token (`--token-file ~/.boss-token`); token="env" prefixes
    `BOSS_TOKEN=...` for the user to fill in. The portal shows this for boxes above its download cap.
    """
    channels = ",".join([channel] if isinstance(channel, str) else channel)
    # the default folder is named after the box, its channels joined by "+"
    req = Request(boss_url.rstrip("/"), collection, experiment, channels.replace(",", "+"), int(resolution),
                  tuple(x), tuple(y), tuple(z), tuple(t) if t else None)
    q = shlex.quote
    parts = ["boss-cutout", q(f"bossdb://{collection}/{experiment}/{channels}"), "--res", str(int(resolution)),
             "-x", f"{x[0]}:{x[1]}", "-y", f"{y[0]}:{y[1]}", "-z", f"{z[0]}:{z[1]}"]
    if t:
        parts += ["-t", f"{t[0]}:{t[1]}"]
    parts += ["--boss-url", q(req.boss_url), "--out", q(out or stem(req))]
    if token == "env":
        return "BOSS_TOKEN=... " + " ".join(parts)
    return " ".join(parts + ["--token-file", "~/.boss-token"])


# --- Main -------------------------------------------------------------------------------------------------

def human(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000


def folder_check(identity, files, folder, manifest):
    """Refuse a folder holding another request's download, or our file names without our manifest."""
    if manifest.load():
        if manifest.request != identity:
            raise CliError(EXIT_OUTPUT, f"{folder} holds a download with other arguments "
                                        f"({differences(identity, manifest.request)}). Rerun with the same "
                                        "arguments to resume it, or choose another --out folder.")
        return
    clashes = [f for f in files + [SIDECAR] if (folder / f).exists()]
    if clashes:
        raise CliError(EXIT_OUTPUT, f"{folder} already holds {clashes[0]} (and {len(clashes) - 1} more) not written "
                                    "by this command: remove them or choose another --out folder.")


def _file_list(files, out, indent):
    for name in (files if len(files) <= 6 else files[:3] + ["..."] + files[-2:]):
        print(f"{indent}{name}", file=out)


def dry_run(reqs, metas, plans, folder, out):
    req = reqs[0]
    print(f"box: x {req.x[0]}:{req.x[1]}, y {req.y[0]}:{req.y[1]}, z {req.z[0]}:{req.z[1]}"
          + (f", t {req.t[0]}:{req.t[1]}" if req.t else "") + f" at resolution {req.resolution}", file=out)
    single = len(reqs) == 1
    indent = "" if single else "  "
    for req, meta, plan in zip(reqs, metas, plans):
        files = plan.files()
        shape = plan.box.shape_zyx
        if not single:
            print(f"channel {req.channel}:", file=out)
        print(f"{indent}size: {human(plan.nbytes)} ({plan.nbytes} bytes, {meta.datatype}, "
              f"{shape[2]} x {shape[1]} x {shape[0]} voxels)", file=out)
        print(f"{indent}blocks: {len(plan.blocks)}", file=out)
        print(f"{indent}files: {len(files)}" + (f" in {folder}" if single else ""), file=out)
        _file_list(files, out, indent + "  ")
    if single:
        print(f"  {SIDECAR}", file=out)
        return
    nbytes = sum(p.nbytes for p in plans)
    print(f"total: {human(nbytes)} ({nbytes} bytes), {len(reqs)} channels, {sum(len(p.blocks) for p in plans)} "
          f"blocks, {sum(len(p.files()) for p in plans)} files + {SIDECAR} in {folder}", file=out)


def run(argv=None, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_intermixed_args(argv)
    started = datetime.now(timezone.utc)
    reqs = requests_from_args(args)
    token = read_token(args.token_file)
    retry = Retry(args.retries)
    metas = []
    for req in reqs:  # every channel is checked before anything is downloaded
        metas.append(fetch_meta(req, token, retry))
        check_box(req, metas[-1])
    plans = [make_plan(req, meta) for req, meta in zip(reqs, metas)]
    files = [name for plan in plans for name in plan.files()]
    folder = Path(args.out).expanduser()
    if args.dry_run:
        dry_run(reqs, metas, plans, folder, stdout)
        return EXIT_OK
    identity = run_identity(reqs)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        manifest = Manifest(folder)
        folder_check(identity, files, folder, manifest)
        if manifest.finished and all((folder / f).exists() for f in files):
            if not args.quiet:
                print(f"{folder}: already complete", file=stderr)
            return EXIT_OK
        if manifest.request is None:
            manifest.start(identity)
    except OSError as exc:
        raise CliError(EXIT_OUTPUT, f"cannot use the folder {folder}: {exc.strerror or exc}") from exc
    from tqdm import tqdm

    try:
        for req, meta, plan in zip(reqs, metas, plans):  # one channel after the other, each with its own bar
            cal = calibration(meta.voxel_size, meta.voxel_unit, req.resolution, meta.hierarchy_method)
            progress = tqdm(total=plan.nbytes, unit="B", unit_scale=True, unit_divisor=1024, file=stderr,
                            disable=args.quiet, desc=req.channel, smoothing=0.1)
            try:
                download(req, plan, manifest.channel(req.channel), folder, cal,
                         Fetcher(req, token, meta.datatype, retry), args.workers, progress)
            finally:
                progress.close()
        req = reqs[0]
        command = command_line(req.boss_url, req.collection, req.experiment, [r.channel for r in reqs],
                               req.resolution, req.x, req.y, req.z, req.t, out=str(folder))
        tmp = folder / (SIDECAR + ".part")
        tmp.write_text(sidecar(reqs, metas, cal, files, started, command))
        os.replace(tmp, folder / SIDECAR)
        manifest.finish()
    except (WriterError, OSError) as exc:
        raise CliError(EXIT_OUTPUT, f"writing to {folder} failed: {getattr(exc, 'strerror', None) or exc}") from exc
    finally:
        manifest.close()
    if not args.quiet:
        nbytes = sum(plan.nbytes for plan in plans)
        names = "" if len(reqs) == 1 else f" ({', '.join(r.channel for r in reqs)})"
        print(f"{folder}: {len(files)} file(s), {human(nbytes)}{names}", file=stderr)
    return EXIT_OK


def _on_sigterm(signum, frame):
    raise Interrupted()


def main(argv=None):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run(argv)
    except CliError as exc:
        print(f"boss-cutout: error: {exc.message}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, Interrupted):
        print("\nboss-cutout: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
