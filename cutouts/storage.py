"""Where finished cutouts live: Django's storage API, so workers on several machines share results.

The storage is STORAGES["results"] (portal/settings.py). CUTOUT_STORAGE=local (default): a FileSystemStorage
under CUTOUT_RESULTS_DIR, served by the portal with range requests. CUTOUT_STORAGE=s3: an S3-compatible
bucket (django-storages, imported only then), downloaded by signed URLs that expire. Either way a job's
files are `<job id>/<name>` in the storage.

A job writes its TIFF in a local scratch folder first (blocks land in place with pwrite, which needs a
local file), then `publish` moves it into the storage: a rename on local storage, an upload to a bucket.
"""
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.utils.functional import cached_property


class ResultsFileSystemStorage(FileSystemStorage):
    """A FileSystemStorage whose location is CUTOUT_RESULTS_DIR, read when first needed and again whenever
    that setting changes (as Django's own follows MEDIA_ROOT), so a test may point it elsewhere."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.CUTOUT_RESULTS_DIR)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "CUTOUT_RESULTS_DIR":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)


def results_storage():
    return storages["results"]


def is_local(storage):
    return isinstance(storage, FileSystemStorage)


def key(job, name):
    return f"{job.pk}/{name}"


def scratch_root():
    return Path(settings.CUTOUT_SCRATCH_DIR or Path(settings.CUTOUT_RESULTS_DIR) / ".scratch")


def scratch_folder(job):
    """The job's working folder: on the results volume by default, so that `publish` is a rename."""
    return scratch_root() / str(job.pk)


def sweep_scratch(keep):
    """Delete every job folder in the scratch space but those named in `keep` (job ids). Returns how many."""
    root = scratch_root()
    gone = 0
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def publish(job, local_path, name, storage=None):
    """Move a finished local file into the storage as the job's `name`."""
    storage = storage or results_storage()
    target = key(job, name)
    if is_local(storage):
        dest = Path(storage.path(target))
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local_path, dest)
        return
    if storage.exists(target):  # a redelivered job replaces what an earlier attempt left
        storage.delete(target)
    with open(local_path, "rb") as f:
        storage.save(target, File(f, name=name))
    os.unlink(local_path)


def exists(job, name, storage=None):
    return (storage or results_storage()).exists(key(job, name))


def local_path(job, name, storage=None):
    """The file's path when the storage is local disk, else None (download by `signed_url`)."""
    storage = storage or results_storage()
    return Path(storage.path(key(job, name))) if is_local(storage) else None


def signed_url(job, name, filename=None, storage=None):
    """A time-limited URL of a file in the bucket; the browser saves it as `filename`."""
    storage = storage or results_storage()
    params = {"ResponseContentDisposition": f'attachment; filename="{filename}"'} if filename else None
    return storage.url(key(job, name), parameters=params)


def delete_job_files(job, storage=None, scratch=True):
    """Remove everything the job stored (and its scratch folder, unless `scratch` is False: a running job's
    worker is writing there, and it discards the folder itself when it sees the job gone)."""
    storage = storage or results_storage()
    if scratch:
        shutil.rmtree(scratch_folder(job), ignore_errors=True)
    if is_local(storage):
        shutil.rmtree(storage.path(str(job.pk)), ignore_errors=True)
        return
    try:
        _, files = storage.listdir(str(job.pk))
    except FileNotFoundError:
        return
    for name in files:
        storage.delete(key(job, name))
