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
BOSS's 512x512x16 cuboids and fetched in parallel by the same pipeline as the portal's jobs
(cutouts/pipeline/), written straight into place, so memory stays bounded by a few blocks whatever the box.

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
  7    throttled: BOSS answered 429 (this token's daily download quota is used up; the public token's
       quota is shared by every anonymous user). Wait until BOSS says, or use your own token
  130  interrupted (Ctrl-C, SIGTERM): rerun the same command to resume
"""

import os

# numpy's OpenBLAS starts a thread per CPU as numpy is imported, and they spin while they start: 0.09 CPU s
# of a command that never multiplies a matrix, taken from BOSS's share where both run on the same CPUs
# (bench.cli_bench). One thread has none to start. Set before anything imports numpy, for this process and those
# it starts (importing this module sets it); a caller's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bossdb import Credential, Retry, Session
from cutouts.cli import args as cli_args
from cutouts.cli.download import download
from cutouts.cli.errors import (  # noqa: F401 (the exit codes are part of this module's interface)
    EXIT_AUTH, EXIT_BUG, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_OK, EXIT_OUTPUT, EXIT_THROTTLED, EXIT_UNAVAILABLE,
    EXIT_USAGE, CliError, Interrupted, cli_error,
)
from cutouts.cli.manifest import Manifest
from cutouts.cli.meta import channel_spec, check_box, fetch_meta
from cutouts.cli.output import dry_run, folder_check, human
from cutouts.pipeline.fetch import BlockFailed, BlockReader
from cutouts.pipeline.memory import lean_malloc
from cutouts.pipeline.provenance import SIDECAR, provenance
from cutouts.pipeline.recipes import command_line
from cutouts.pipeline.writers.base import WriterError, uncompressed
from cutouts.pipeline.writers.stack import make_plan

TIMEOUT = (10, 120)  # connect, read (seconds)


def boss_session(run, token, retries):
    """Retries with exponential backoff on 5xx/timeouts (BOSS_CUTOUT_BACKOFF seconds, doubled per retry);
    errors keep BOSS's own message."""
    backoff = float(os.environ.get("BOSS_CUTOUT_BACKOFF", 0.5))
    return Session(run.boss_url, Credential("Token", token), connect_timeout=TIMEOUT[0], read_timeout=TIMEOUT[1],
                   retry=Retry(retries, backoff), describe=False)


def _import_ahead(compressed):
    """Import what the download needs only once its first blocks are in (the progress bar, numcodecs' blosc,
    the TIFF writer and its compressors), in a thread of its own while the command waits for BOSS: for the
    channels' metadata, then for the first blocks. Imported where they are used instead, they took ~0.15 s
    of the command's start, in which nothing else ran (bench.cli_bench). A failed import is left for that
    use to raise and report."""
    try:
        import tqdm  # noqa: F401
        import numcodecs.blosc  # noqa: F401

        from cutouts.pipeline.writers import tiff  # noqa: F401
        if compressed:
            from cutouts.pipeline.writers import ctiff  # noqa: F401
    except Exception:  # noqa: BLE001 (reported where the module is used)
        pass


def run(argv=None, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = cli_args.build_parser(__doc__).parse_intermixed_args(argv)
    started = datetime.now(timezone.utc)
    request = cli_args.run_from_args(args)
    if not args.dry_run:
        threading.Thread(target=_import_ahead, args=(not uncompressed(request.compression),),
                         name="import-ahead", daemon=True).start()
    token = cli_args.read_token(args.token_file)
    session = boss_session(request, token, args.retries)
    tries = args.retries + 1
    metas = []
    for channel in request.channels:  # every channel is checked before anything is downloaded
        metas.append(fetch_meta(session, request, channel, tries))
        check_box(request, metas[-1], channel)
    specs = [channel_spec(request, ch, meta) for ch, meta in zip(request.channels, metas)]
    plans = [make_plan(spec, request.block_mb * 1024 * 1024) for spec in specs]
    files = [name for plan in plans for name in plan.files()]
    folder = Path(args.out).expanduser()
    if args.dry_run:
        dry_run(request, metas, plans, folder, stdout)
        return EXIT_OK
    identity = request.identity()
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
        for spec, plan in zip(specs, plans):  # one channel after the other, each with its own bar
            channel = spec.channels[0].name
            progress = tqdm(total=plan.nbytes, unit="B", unit_scale=True, unit_divisor=1024, file=stderr,
                            disable=args.quiet, desc=channel, smoothing=0.1)
            read = BlockReader(session, spec)
            try:
                download(plan, manifest.channel(channel), folder, read, args.workers, progress)
            except BlockFailed as exc:
                raise cli_error(exc.error, f"block {exc.task.block.key}", tries) from exc
            finally:
                progress.close()
                read.close()  # its block buffers serve the next channel's
        command = command_line(request.boss_url, request.collection, request.experiment, request.channels,
                               request.resolution, request.x, request.y, request.z, request.t, out=str(folder),
                               fmt=request.format, compression=request.compression)
        whole = replace(specs[0], channels=tuple(s.channels[0] for s in specs))  # every channel of the run
        tmp = folder / (SIDECAR + ".part")
        tmp.write_text(provenance(whole, files, started, tool="boss-cutout", command=command))
        tmp.replace(folder / SIDECAR)
        manifest.finish()
    except (WriterError, OSError) as exc:
        raise CliError(EXIT_OUTPUT, f"writing to {folder} failed: {getattr(exc, 'strerror', None) or exc}") from exc
    finally:
        manifest.close()
    if not args.quiet:
        nbytes = sum(plan.nbytes for plan in plans)
        names = "" if len(specs) == 1 else f" ({', '.join(request.channels)})"
        print(f"{folder}: {len(files)} file(s), {human(nbytes)}{names}", file=stderr)
    return EXIT_OK


def _on_sigterm(signum, frame):
    raise Interrupted()


def main(argv=None):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    if argv is None:  # the command itself, not a caller's process
        lean_malloc()
    code = _run(argv)
    if argv is None:
        _end(code)
    return code


def _end(code):
    """End the command's own process with `code` now that its work is done and on disk: the files and the
    manifest are fsynced and closed, and the fetch threads have stopped. Python's own teardown (freeing
    every module, array and buffer one by one) took 60-70 ms of a 3 s download here (bench.cli_bench),
    time in which the command had nothing left to do; only the standard streams still need flushing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach the reader
            pass
    os._exit(code)


def _run(argv):
    try:
        return run(argv)
    except CliError as exc:
        print(f"boss-cutout: error: {exc.message}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, Interrupted):
        print("\nboss-cutout: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
