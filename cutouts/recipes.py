"""Ready-to-paste recipes for the same box: the REST cutout URL, intern, curl, the portal's JSON API.

The user's token is never written into a recipe: each reads it from the BOSS_TOKEN environment
variable (intern and curl need a BOSS API token, from <BOSS>/v1/mgmt/token; the portal API takes the
OIDC access token from the identity provider).
"""
import json
from urllib.parse import urlsplit

from django.conf import settings


def _ranges(job):
    return f"{job.x0}:{job.x1}/{job.y0}:{job.y1}/{job.z0}:{job.z1}/" + (f"{job.t0}:{job.t1}/" if job.time_range else "")


def _boss_url(job):
    return (job.meta or {}).get("boss_url") or settings.BOSS_URL


def rest_url(job, channel):
    """BOSS's REST cutout URL for this box and channel (what intern and curl ask for)."""
    return f"{_boss_url(job)}/v1/cutout/{job.collection}/{job.experiment}/{channel}/{job.resolution}/{_ranges(job)}"


def boss_config(job):
    parts = urlsplit(_boss_url(job))
    return {"protocol": parts.scheme, "host": parts.netloc + parts.path}


def intern_snippet(job, channel):
    """A Python snippet with intern's BossRemote.get_cutout that returns the job's array for `channel`."""
    cfg = boss_config(job)
    time_arg = f", time_range=[{job.t0}, {job.t1}]" if job.time_range else ""
    shape = "(T, Z, Y, X)" if job.time_range else "(Z, Y, X)"
    return "\n".join([
        "import os",
        "from intern.remote.boss import BossRemote",
        "",
        "# BOSS_TOKEN: your BOSS API token (the portal never writes it here)",
        f"rmt = BossRemote({{'protocol': {cfg['protocol']!r}, 'host': {cfg['host']!r}, "
        "'token': os.environ['BOSS_TOKEN']})",
        f"channel = rmt.get_channel({channel!r}, {job.collection!r}, {job.experiment!r})",
        f"data = rmt.get_cutout(channel, {job.resolution}, [{job.x0}, {job.x1}], [{job.y0}, {job.y1}], "
        f"[{job.z0}, {job.z1}]{time_arg}, parallel=False)  # numpy array {shape}",
    ])


def intern_array_snippet(job, channel):
    """The same box with intern's numpy-like `array` (bossdb:// URI, slices in Z, Y, X order).

    intern's `array` resolves a bossdb:// URI with a default remote (it ignores `boss_config`), which
    reads ~/.intern/intern.cfg or else INTERN_PROTOCOL/INTERN_HOST/INTERN_TOKEN: the snippet sets those.
    """
    cfg = boss_config(job)
    return "\n".join([
        "import os",
        "",
        "# intern's array finds BOSS through these variables (a ~/.intern/intern.cfg file takes precedence)",
        f"os.environ['INTERN_PROTOCOL'] = {cfg['protocol']!r}",
        f"os.environ['INTERN_HOST'] = {cfg['host']!r}",
        "os.environ['INTERN_TOKEN'] = os.environ['BOSS_TOKEN']  # your BOSS API token",
        "from intern import array",
        "",
        f"vol = array('bossdb://{job.collection}/{job.experiment}/{channel}', resolution={job.resolution})",
        f"data = vol[{job.z0}:{job.z1}, {job.y0}:{job.y1}, {job.x0}:{job.x1}]",
    ])


def curl_snippet(job, channel):
    """curl of the REST cutout: a blosc-compressed C-order array (decode with blosc.decompress)."""
    return (
        f'curl -H "Authorization: Token $BOSS_TOKEN" -H "Accept: application/blosc" \\\n'
        f'     -o {channel}.blosc "{rest_url(job, channel)}"'
    )


def api_snippet(job, portal_url):
    """curl of the portal's own JSON API, submitting the same job (with an OIDC access token)."""
    body = {
        "collection": job.collection,
        "experiment": job.experiment,
        "channels": list(job.channels),
        "resolution": job.resolution,
        "x": [job.x0, job.x1],
        "y": [job.y0, job.y1],
        "z": [job.z0, job.z1],
        "format": job.format,
    }
    if job.time_range:
        body["t"] = [job.t0, job.t1]
    return (
        f'curl -X POST -H "Authorization: Bearer $BOSS_TOKEN" -H "Content-Type: application/json" \\\n'
        f"     -d '{json.dumps(body)}' {portal_url.rstrip('/')}/api/cutouts/"
    )
