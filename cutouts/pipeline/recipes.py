"""Ready-to-paste recipes for a box: BOSS's REST cutout URL, intern, curl, the portal's JSON API, boss-cutout.

The user's token is never written into a recipe. intern and curl of BOSS read a BOSS API token (from
<BOSS>/v1/mgmt/token) from the BOSS_TOKEN environment variable, boss-cutout from a file (`--token-file`); the
portal's API takes an OIDC access token from the identity provider, in PORTAL_TOKEN (oidc_token_command).
"""
import json
import shlex
from urllib.parse import urlsplit

from cutouts.pipeline.spec import stem


def _ranges(spec):
    box = spec.box
    t = f"{box.t[0]}:{box.t[1]}/" if spec.time_range else ""
    return f"{box.x[0]}:{box.x[1]}/{box.y[0]}:{box.y[1]}/{box.z[0]}:{box.z[1]}/" + t


def rest_url(spec, channel):
    """BOSS's REST cutout URL for this box and channel (what intern and curl ask for)."""
    return f"{spec.boss_url}/v1/cutout/{spec.collection}/{spec.experiment}/{channel}/{spec.resolution}/{_ranges(spec)}"


def boss_config(spec):
    parts = urlsplit(spec.boss_url)
    return {"protocol": parts.scheme, "host": parts.netloc + parts.path}


def intern_remote_lines(spec):
    """The lines that make intern's BossRemote for the spec's BOSS, with the token from BOSS_TOKEN."""
    cfg = boss_config(spec)
    return ["# BOSS_TOKEN: your BOSS API token (the portal never writes it here)",
            f"rmt = BossRemote({{'protocol': {cfg['protocol']!r}, 'host': {cfg['host']!r}, "
            "'token': os.environ['BOSS_TOKEN']})"]


def intern_cutout_args(spec):
    """(get_cutout's arguments after the channel, the array's axes) for the spec's level and box."""
    (x0, x1), (y0, y1), (z0, z1), (t0, t1) = spec.box.x, spec.box.y, spec.box.z, spec.box.t
    time_arg = f", time_range=[{t0}, {t1}]" if spec.time_range else ""
    shape = "(T, Z, Y, X)" if spec.time_range else "(Z, Y, X)"
    return f"{spec.resolution}, [{x0}, {x1}], [{y0}, {y1}], [{z0}, {z1}]{time_arg}", shape


def intern_snippet(spec, channel):
    """A Python snippet with intern's BossRemote.get_cutout that returns the box's array for `channel`."""
    args, shape = intern_cutout_args(spec)
    return "\n".join([
        "import os",
        "from intern.remote.boss import BossRemote",
        "",
        *intern_remote_lines(spec),
        f"channel = rmt.get_channel({channel!r}, {spec.collection!r}, {spec.experiment!r})",
        f"data = rmt.get_cutout(channel, {args}, parallel=False)  # numpy array {shape}",
    ])


def intern_array_snippet(spec, channel):
    """The same box with intern's numpy-like `array` (bossdb:// URI, slices in Z, Y, X order).

    intern's `array` resolves a bossdb:// URI with a default remote (it ignores `boss_config`), which
    reads ~/.intern/intern.cfg or else INTERN_PROTOCOL/INTERN_HOST/INTERN_TOKEN: the snippet sets those.
    """
    cfg = boss_config(spec)
    (x0, x1), (y0, y1), (z0, z1) = spec.box.x, spec.box.y, spec.box.z
    return "\n".join([
        "import os",
        "",
        "# intern's array finds BOSS through these variables (a ~/.intern/intern.cfg file takes precedence)",
        f"os.environ['INTERN_PROTOCOL'] = {cfg['protocol']!r}",
        f"os.environ['INTERN_HOST'] = {cfg['host']!r}",
        "os.environ['INTERN_TOKEN'] = os.environ['BOSS_TOKEN']  # your BOSS API token",
        "from intern import array",
        "",
        f"vol = array('bossdb://{spec.collection}/{spec.experiment}/{channel}', resolution={spec.resolution})",
        f"data = vol[{z0}:{z1}, {y0}:{y1}, {x0}:{x1}]",
    ])


def curl_snippet(spec, channel):
    """curl of the REST cutout: a blosc-compressed C-order array (decode with blosc.decompress)."""
    return (
        f'curl -H "Authorization: Token $BOSS_TOKEN" -H "Accept: application/blosc" \\\n'
        f'     -o {channel}.blosc "{rest_url(spec, channel)}"'
    )


def api_body(spec):
    """The JSON body of POST /api/cutouts/ that asks for this same job: every field the job was made of,
    `parts` included (an over-cap box replays as 400 without it)."""
    body = {
        "collection": spec.collection,
        "experiment": spec.experiment,
        "channels": spec.channel_names,
        "resolution": spec.resolution,
        "x": list(spec.box.x),
        "y": list(spec.box.y),
        "z": list(spec.box.z),
        "format": spec.format,
        "parts": bool(spec.parts),
    }
    if spec.time_range:
        body["t"] = list(spec.box.t)
    for name in ("compression", "name"):  # fields added with the job's options; absent on older specs
        value = getattr(spec, name, None) or spec.extra.get(name)
        if value:
            body[name] = value
    return body


def oidc_token_command(token_url, client_id="endpoint"):
    """The one command that gets an OIDC access token for the portal's API from the identity provider:
    the password grant of its public scripts client (Keycloak's "direct access grant", which devboss has too).
    The user name and password come from the environment, never the page."""
    return (
        f'PORTAL_TOKEN=$(curl -sS -d grant_type=password -d client_id={shlex.quote(client_id)} \\\n'
        '     --data-urlencode username="$BOSS_USER" --data-urlencode password="$BOSS_PASSWORD" \\\n'
        f'     {shlex.quote(token_url)} \\\n'
        "     | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )


def api_snippet(spec, portal_url, body=None):
    """curl of the portal's own JSON API, submitting the same job, with an OIDC access token in
    $PORTAL_TOKEN (a BOSS API token gets 401 there: see oidc_token_command)."""
    body = api_body(spec) if body is None else body
    return (
        f'curl -sS -X POST -H "Authorization: Bearer $PORTAL_TOKEN" -H "Content-Type: application/json" \\\n'
        f"     -d {shlex.quote(json.dumps(body))} {portal_url.rstrip('/')}/api/cutouts/"
    )


def snippets(spec, portal_url):
    """[{"title", "code"}]: every recipe for the box, as the job page and the form show them."""
    names = spec.channel_names
    return ([{"title": f"intern: BossRemote.get_cutout ({ch})", "code": intern_snippet(spec, ch)} for ch in names]
            + [{"title": f"intern: array ({ch})", "code": intern_array_snippet(spec, ch)} for ch in names]
            + [{"title": f"curl of BOSS's REST cutout ({ch})", "code": curl_snippet(spec, ch)} for ch in names]
            + [{"title": "this portal's JSON API (same job)", "code": api_snippet(spec, portal_url)}])


# The web formats boss-cutout can write, as its --format names them: one OME-TIFF per channel, or a stack
# of 2-D TIFFs (what a zip of slices or an ImageJ TIFF holds, unzipped). OME-Zarr has no command line yet.
CLI_FORMATS = {"ome-tiff": "ome-tiff", "tiff-zip": "tiff-stack", "imagej-tiff": "tiff-stack", "tiff-stack": "tiff-stack"}
CLI_COMPRESSIONS = ("zstd", "deflate")


def command_line(boss_url, collection, experiment, channel, resolution, x, y, z, t=None, token="file", out=None,
                 fmt=None, compression=None):
    """The exact `boss-cutout` command that downloads this box, with the token as a placeholder.

    `channel` is a channel name or a list of them (one run downloads them all: bossdb://c/e/em,fluo).
    token="file" reads it from ~/.boss-token (`--token-file ~/.boss-token`); token="env" prefixes
    `BOSS_TOKEN=...` for the user to fill in. The portal shows this for boxes above its download cap.
    `fmt` and `compression`, the form's choices (web names), become --format and --compression where
    boss-cutout has them (CLI_FORMATS, CLI_COMPRESSIONS); otherwise its defaults apply.
    """
    channels = ",".join([channel] if isinstance(channel, str) else channel)
    boss_url = boss_url.rstrip("/")
    q = shlex.quote
    parts = ["boss-cutout", q(f"bossdb://{collection}/{experiment}/{channels}"), "--res", str(int(resolution)),
             "-x", f"{x[0]}:{x[1]}", "-y", f"{y[0]}:{y[1]}", "-z", f"{z[0]}:{z[1]}"]
    if t:
        parts += ["-t", f"{t[0]}:{t[1]}"]
    # the default folder is named after the box, its channels joined by "+"
    folder = out or stem(collection, experiment, channels.replace(",", "+"), int(resolution), x, y, z, t)
    parts += ["--boss-url", q(boss_url), "--out", q(folder)]
    cli_format = CLI_FORMATS.get(fmt)
    if cli_format:
        parts += ["--format", cli_format]
        if compression in CLI_COMPRESSIONS:
            parts += ["--compression", compression]
    if token == "env":
        return "BOSS_TOKEN=... " + " ".join(parts)
    return " ".join(parts + ["--token-file", "~/.boss-token"])
