"""provenance.json: what a result holds and how to get it again, written beside every cutout."""
import json
from datetime import datetime, timezone

from cutouts.pipeline import recipes
from cutouts.pipeline.spec import VERSION

SIDECAR = "provenance.json"


def provenance(spec, files, started, job_id=None, tool=None, command=None):
    """The provenance document (JSON text) of `spec`'s result `files`, begun at `started`.

    A web job names its id; `boss-cutout` names itself (`tool`) and the command that made the files."""
    cal = spec.calibration
    box = spec.box
    doc = {"portal_version": VERSION, "job": job_id}
    if tool:
        doc.update({"tool": tool, "command": command})
    doc.update({
        "boss_url": spec.boss_url,
        "collection": spec.collection,
        "experiment": spec.experiment,
        "channels": {
            ch.name: {
                "datatype": ch.datatype,
                "type": ch.type or "image",
                "resource": f"bossdb://{spec.collection}/{spec.experiment}/{ch.name}",
                "rest_url": recipes.rest_url(spec, ch.name),
                "intern": recipes.intern_snippet(spec, ch.name),
            }
            for ch in spec.channels
        },
        "resolution": spec.resolution,
        "box_voxels": {"x": list(box.x), "y": list(box.y), "z": list(box.z), "t": list(box.t)},
        "box_physical": {
            "x": [box.x[0] * cal.x, box.x[1] * cal.x], "y": [box.y[0] * cal.y, box.y[1] * cal.y],
            "z": [box.z[0] * cal.z, box.z[1] * cal.z], "unit": cal.unit,
        },
        "voxel_size": {"x": cal.x, "y": cal.y, "z": cal.z, "unit": cal.unit},
        "format": spec.format,
        "files": files,
        "viewer_url": spec.viewer_url,
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
    })
    return json.dumps(doc, indent=2)
