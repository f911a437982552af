"""A job as JSON, for the API and the jobs page's live updates."""
from django.urls import reverse


def _abs(request, path):
    return request.build_absolute_uri(path) if request else path


def job_json(job, request=None):
    def url(name):
        path = reverse(name, args=[job.pk])
        return request.build_absolute_uri(path) if request else path

    data = {
        "id": str(job.pk),
        "url": url("api-cutout"),
        "page": url("cutout-job"),
        "state": job.state,
        "progress": {"blocks_done": job.blocks_done, "blocks_total": job.blocks_total,
                     "fraction": round(job.progress, 4)},
        "collection": job.collection,
        "experiment": job.experiment,
        "channels": job.channels,
        "resolution": job.resolution,
        "x": [job.x0, job.x1],
        "y": [job.y0, job.y1],
        "z": [job.z0, job.z1],
        "t": [job.t0, job.t1] if job.time_range else None,
        "format": job.format,
        "parts": job.split,
        "bytes": job.nbytes,
        "error": job.error or None,
        "attempts": job.attempts,
        "created": job.created.isoformat(),
        "started": job.started.isoformat() if job.started else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "expires": job.expires.isoformat() if job.expires else None,
        "result": None,
    }
    if job.can_download:
        data["result"] = {
            "name": job.result_name,
            "size": job.result_size,
            "download": url("api-cutout-download"),
            "provenance": url("cutout-provenance"),
            "parts": [
                {**part, "download": _abs(request, reverse("api-cutout-part", args=[job.pk, part["n"]]))}
                for part in job.parts
            ],
        }
    return data
