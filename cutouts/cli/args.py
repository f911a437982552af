"""boss-cutout's command line: parsing and checking the arguments into a Run."""
import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cutouts.cli.errors import EXIT_AUTH, EXIT_USAGE, CliError
from cutouts.pipeline.writers.stack import FORMATS

DEFAULT_BOSS_URL = "https://api.bossdb.io"
DEFAULT_BLOCK_MB = 16
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


def build_parser(doc):
    parser = argparse.ArgumentParser(
        prog="boss-cutout",
        description="Download a box of one or more BOSS channels (of one experiment) as TIFF stacks or "
                    "OME-TIFFs, resumably.",
        epilog=doc[doc.index("Channels:"):doc.index("\n\nRanges are")] + "\n\n" + doc[doc.index("Exit codes:"):],
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
    parser.add_argument("--compression", choices=("none", "zstd", "deflate"), default="none",
                        help="compress the TIFFs: zstd (tifffile, Bio-Formats) or deflate (also Fiji's own opener); "
                             "default none, which also resumes a slab half done (compressed slabs start again)")
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
class Run:
    """What one boss-cutout run asks for: a box of the channels of one experiment."""

    boss_url: str
    collection: str
    experiment: str
    channels: list
    resolution: int
    x: tuple
    y: tuple
    z: tuple
    t: tuple = None
    format: str = "tiff-stack"
    block_mb: int = DEFAULT_BLOCK_MB
    compression: str = "none"

    @property
    def resource(self):
        return f"bossdb://{self.collection}/{self.experiment}/" + ",".join(self.channels)

    def identity(self):
        """What a resumed run must share with the first one (not workers, quiet or the token)."""
        return {
            "resource": self.resource, "boss_url": self.boss_url, "res": self.resolution, "x": list(self.x),
            "y": list(self.y), "z": list(self.z), "t": list(self.t) if self.t else None, "format": self.format,
            "block_mb": self.block_mb, **({"compression": self.compression} if self.compression != "none" else {}),
        }


def run_from_args(args):
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
    return Run(boss_url, collection, experiment, channels, args.res, *box, args.format, args.block_mb,
               args.compression)
