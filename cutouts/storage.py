"""Where finished cutouts live: Django's storage API, so workers on several machines share results.

CUTOUT_STORAGE=local (default): a FileSystemStorage under CUTOUT_RESULTS_DIR, served by the portal with
range requests. CUTOUT_STORAGE=s3: an S3-compatible bucket (django-storages), downloaded by signed URLs
that expire. Either way a job's files are `<job id>/<name>` in the storage.

A job writes its TIFF in a local scratch folder first (blocks land in place with pwrite, which needs a
local file), then `publish` moves it into the storage: a rename on local storage, an upload to a bucket.
"""
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.utils.module_loading import import_string

S3_BACKEND = "storages.backends.s3.S3Storage"


def results_storage():
    """Built per call from settings (tests override CUTOUT_RESULTS_DIR and CUTOUT_STORAGE)."""
    if settings.CUTOUT_STORAGE == "s3":
        backend = getattr(settings, "CUTOUT_S3_BACKEND", S3_BACKEND)
        return import_string(backend)(**settings.CUTOUT_S3)
    return FileSystemStorage(location=str(settings.CUTOUT_RESULTS_DIR))


def is_local(storage):
    return isinstance(storage, FileSystemStorage)


def key(job, name):
    return f"{job.pk}/{name}"


def scratch_folder(job):
    """The job's working folder: on the results volume by default, so that `publish` is a rename."""
    root = settings.CUTOUT_SCRATCH_DIR or Path(settings.CUTOUT_RESULTS_DIR) / ".scratch"
    return Path(root) / str(job.pk)


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


def delete_job_files(job, storage=None):
    """Remove everything the job stored (and its scratch folder)."""
    storage = storage or results_storage()
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
