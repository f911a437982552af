"""Serve a finished cutout: Content-Length, a readable Content-Disposition, and HTTP range requests
(resume a broken download with `curl -C -` or a browser's download manager)."""
import mimetypes
import os
import re

from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from cutouts import storage

RANGE_RE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")  # longer numbers: ignore the header


class _Slice:
    """A file object reading `length` bytes from `start` (for FileResponse's streaming)."""

    def __init__(self, path, start, length):
        self.f = open(path, "rb")
        self.f.seek(start)
        self.left = length

    def read(self, size=-1):
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data

    def close(self):
        self.f.close()


def file_response(request, path, filename, content_type=None):
    size = os.path.getsize(path)
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    header = request.headers.get("Range", "")
    match = RANGE_RE.match(header.strip()) if header else None
    if header and match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # a suffix: the last N bytes
            start = max(size - int(last), 0)
            end = size - 1
        if start >= size or end < start:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = FileResponse(_Slice(path, start, end - start + 1), status=206, content_type=content_type,
                                as_attachment=True, filename=filename)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type, as_attachment=True, filename=filename)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    return response


def result_response(request, job, name, filename, content_type=None):
    """A job's stored file: served here (ranged) from local disk, or a redirect to a signed, expiring URL
    of the bucket. None when the file isn't there."""
    store = storage.results_storage()
    if not storage.exists(job, name, store):
        return None
    path = storage.local_path(job, name, store)
    if path is None:
        return HttpResponseRedirect(storage.signed_url(job, name, filename, store))
    return file_response(request, path, filename, content_type=content_type)
